#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""Writes the model zoo: one triage-model/1 JSON file per network.

The layer tables are built here from each network's published architecture
(the papers, torchvision's model definitions and darknet's yolov4-tiny.cfg,
read as descriptions), so that shapes, FLOPs, parameter counts, blocks and
cut points all follow from one place and cannot drift apart by hand editing.
docs/models.md describes the format and the counting rules; models/zoo_check.c
recomputes every figure written here and refuses a file that disagrees.

Author-time only: neither the build nor the tests run this script; its output
is checked in. To regenerate, from the repository root:

    python3 models/zoo/gen_models.py            # writes models/zoo/*.json
    python3 models/zoo/gen_models.py --summary  # prints the figures, writes nothing

Python 3, standard library only.
"""

import argparse
import os
import sys

sys.dont_write_bytecode = True  # keep models/zoo free of __pycache__
from netbuilder import Net, classifier_head, summary, write  # noqa: E402

# ---- the networks ------------------------------------------------------------

def alexnet():
    net = Net("alexnet", "AlexNet",
              "Krizhevsky, Sutskever, Hinton: ImageNet Classification with Deep "
              "Convolutional Neural Networks (NIPS 2012); the one-tower variant of "
              "torchvision.models.alexnet (no local response normalisation)",
              {"params": 61100840, "macs": 710000000,
               "source": "torchvision AlexNet_Weights.IMAGENET1K_V1: 61,100,840 params, "
                         "0.71 GFLOPS (counted as multiply-accumulates)"},
              [1, 224, 224, 3])
    net.block("conv1")
    x = net.conv("features.0", "input", 64, 11, 4, 2)
    x = net.maxpool("features.2", x, 3, 2)
    net.block("conv2")
    x = net.conv("features.3", x, 192, 5, 1, 2)
    x = net.maxpool("features.5", x, 3, 2)
    net.block("conv3")
    x = net.conv("features.6", x, 384, 3)
    net.block("conv4")
    x = net.conv("features.8", x, 256, 3)
    net.block("conv5")
    x = net.conv("features.10", x, 256, 3)
    x = net.maxpool("features.12", x, 3, 2)
    # The adaptive average pool to 6x6 is the identity at 224x224 input.
    assert net.shape(x) == [1, 6, 6, 256]
    net.block("fc6")
    x = net.fc("classifier.1", x, 4096, act="relu")
    net.block("fc7")
    x = net.fc("classifier.4", x, 4096, act="relu")
    net.block("fc8")
    x = net.fc("classifier.6", x, 1000)
    net.finish([net.softmax("prob", x)])
    return net


def vgg16():
    net = Net("vgg16", "VGG-16",
              "Simonyan, Zisserman: Very Deep Convolutional Networks for Large-Scale "
              "Image Recognition (ICLR 2015), configuration D; torchvision.models.vgg16",
              {"params": 138357544, "macs": 15470000000,
               "source": "torchvision VGG16_Weights.IMAGENET1K_V1: 138,357,544 params, "
                         "15.47 GFLOPS (multiply-accumulates)"},
              [1, 224, 224, 3])
    cfg = [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M",
           512, 512, 512, "M"]
    x, idx, conv_nr = "input", 0, 0
    for v in cfg:
        if v == "M":
            x = net.maxpool(f"features.{idx}", x, 2, 2)
            idx += 1
        else:
            conv_nr += 1
            net.block(f"conv{conv_nr}")
            x = net.conv(f"features.{idx}", x, v, 3)
            idx += 2  # the ReLU is fused
    # The adaptive average pool to 7x7 is the identity at 224x224 input.
    assert net.shape(x) == [1, 7, 7, 512]
    net.block("fc6")
    x = net.fc("classifier.0", x, 4096, act="relu")
    net.block("fc7")
    x = net.fc("classifier.3", x, 4096, act="relu")
    net.block("fc8")
    x = net.fc("classifier.6", x, 1000)
    net.finish([net.softmax("prob", x)])
    return net


def resnet_stem(net):
    net.block("stem")
    x = net.conv("conv1", "input", 64, 7, 2, 3)
    return net.maxpool("maxpool", x, 3, 2, 1)


def basic_block(net, x, prefix, width, stride):
    net.block(prefix)
    y = net.conv(f"{prefix}.conv1", x, width, 3, stride)
    y = net.conv(f"{prefix}.conv2", y, width, 3, act="none")
    if stride != 1 or net.shape(x)[3] != width:
        x = net.conv(f"{prefix}.downsample", x, width, 1, stride, 0, act="none")
    return net.add(f"{prefix}.add", y, x, act="relu")


def bottleneck(net, x, prefix, width, stride):
    # torchvision's v1.5: the stride sits on the 3x3 convolution.
    net.block(prefix)
    y = net.conv(f"{prefix}.conv1", x, width, 1, 1, 0)
    y = net.conv(f"{prefix}.conv2", y, width, 3, stride)
    y = net.conv(f"{prefix}.conv3", y, 4 * width, 1, 1, 0, act="none")
    if stride != 1 or net.shape(x)[3] != 4 * width:
        x = net.conv(f"{prefix}.downsample", x, 4 * width, 1, stride, 0, act="none")
    return net.add(f"{prefix}.add", y, x, act="relu")


def resnet(name, title, block, counts, published):
    net = Net(name, title,
              "He, Zhang, Ren, Sun: Deep Residual Learning for Image Recognition "
              f"(CVPR 2016); torchvision.models.{name} (stride on the 3x3 convolution)",
              published, [1, 224, 224, 3])
    x = resnet_stem(net)
    for stage, (count, width) in enumerate(zip(counts, [64, 128, 256, 512])):
        for i in range(count):
            stride = 2 if stage > 0 and i == 0 else 1
            x = block(net, x, f"layer{stage + 1}.{i}", width, stride)
    classifier_head(net, x)
    return net


def resnet18():
    return resnet("resnet18", "ResNet-18", basic_block, [2, 2, 2, 2],
                  {"params": 11689512, "macs": 1810000000,
                   "source": "torchvision ResNet18_Weights.IMAGENET1K_V1: 11,689,512 "
                             "params, 1.81 GFLOPS (multiply-accumulates)"})


def resnet50():
    return resnet("resnet50", "ResNet-50", bottleneck, [3, 4, 6, 3],
                  {"params": 25557032, "macs": 4090000000,
                   "source": "torchvision ResNet50_Weights.IMAGENET1K_V1: 25,557,032 "
                             "params, 4.09 GFLOPS (multiply-accumulates)"})


def mobilenetv2():
    net = Net("mobilenetv2", "MobileNetV2",
              "Sandler, Howard, Zhu, Zhmoginov, Chen: MobileNetV2: Inverted Residuals "
              "and Linear Bottlenecks (CVPR 2018); torchvision.models.mobilenet_v2, "
              "width 1.0",
              {"params": 3504872, "macs": 300000000,
               "source": "torchvision MobileNet_V2_Weights.IMAGENET1K_V1: 3,504,872 "
                         "params, 0.30 GFLOPS (multiply-accumulates); the paper gives "
                         "3.4M and 300M"},
              [1, 224, 224, 3])
    net.block("stem")
    x = net.conv("features.0", "input", 32, 3, 2, act="relu6")
    settings = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2),
                (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)]
    idx = 1
    for t, c, n, s in settings:
        for i in range(n):
            stride = s if i == 0 else 1
            cin = net.shape(x)[3]
            hidden = cin * t
            p = f"features.{idx}"
            net.block(p)
            y = x
            if t != 1:
                y = net.conv(f"{p}.expand", y, hidden, 1, 1, 0, act="relu6")
            y = net.conv(f"{p}.dw", y, hidden, 3, stride, g=hidden, act="relu6")
            y = net.conv(f"{p}.project", y, c, 1, 1, 0, act="none")
            if stride == 1 and cin == c:
                y = net.add(f"{p}.add", y, x)
            x = y
            idx += 1
    net.block(f"features.{idx}")
    x = net.conv(f"features.{idx}", x, 1280, 1, 1, 0, act="relu6")
    classifier_head(net, x, name="classifier.1")
    return net


def squeezenet11():
    net = Net("squeezenet11", "SqueezeNet 1.1",
              "Iandola et al.: SqueezeNet: AlexNet-level accuracy with 50x fewer "
              "parameters and <0.5MB model size (arXiv 1602.07360); version 1.1 from "
              "the authors' repository, as torchvision.models.squeezenet1_1",
              {"params": 1235496, "macs": 350000000,
               "source": "torchvision SqueezeNet1_1_Weights.IMAGENET1K_V1: 1,235,496 "
                         "params, 0.35 GFLOPS (multiply-accumulates)"},
              [1, 224, 224, 3])
    net.block("stem")
    x = net.conv("features.0", "input", 64, 3, 2, 0)
    x = net.maxpool("features.2", x, 3, 2, ceil_mode=True)
    fires = [(3, 16, 64), (4, 16, 64), "M", (6, 32, 128), (7, 32, 128), "M",
             (9, 48, 192), (10, 48, 192), (11, 64, 256), (12, 64, 256)]
    for i, f in enumerate(fires):
        if f == "M":
            x = net.maxpool(f"features.{fires[i - 1][0] + 1}", x, 3, 2, ceil_mode=True)
            continue
        idx, sq, ex = f
        p = f"features.{idx}"
        net.block(p)
        s = net.conv(f"{p}.squeeze", x, sq, 1, 1, 0)
        e1 = net.conv(f"{p}.expand1x1", s, ex, 1, 1, 0)
        e3 = net.conv(f"{p}.expand3x3", s, ex, 3, 1, 1)
        x = net.concat(f"{p}.concat", [e1, e3])
    net.block("classifier")
    x = net.conv("classifier.1", x, 1000, 1, 1, 0)
    x = net.gavgpool("classifier.3", x)
    net.finish([net.softmax("prob", x)])
    return net


def googlenet():
    net = Net("googlenet", "GoogLeNet (Inception v1)",
              "Szegedy et al.: Going Deeper with Convolutions (CVPR 2015); "
              "torchvision.models.googlenet (batch-normalised convolutions, 3x3 in "
              "the third branch), auxiliary classifiers dropped as at inference",
              {"params": 6624904, "macs": 1500000000,
               "source": "torchvision GoogLeNet_Weights.IMAGENET1K_V1: 6,624,904 "
                         "params without the auxiliary classifiers, 1.50 GFLOPS "
                         "(multiply-accumulates)"},
              [1, 224, 224, 3])
    net.block("conv1")
    x = net.conv("conv1", "input", 64, 7, 2, 3)
    x = net.maxpool("maxpool1", x, 3, 2, ceil_mode=True)
    net.block("conv2")
    x = net.conv("conv2", x, 64, 1, 1, 0)
    net.block("conv3")
    x = net.conv("conv3", x, 192, 3, 1, 1)
    x = net.maxpool("maxpool2", x, 3, 2, ceil_mode=True)

    def inception(p, x, c1, c3r, c3, c5r, c5, pp):
        net.block(p)
        b1 = net.conv(f"{p}.branch1", x, c1, 1, 1, 0)
        b2 = net.conv(f"{p}.branch2.0", x, c3r, 1, 1, 0)
        b2 = net.conv(f"{p}.branch2.1", b2, c3, 3, 1, 1)
        b3 = net.conv(f"{p}.branch3.0", x, c5r, 1, 1, 0)
        b3 = net.conv(f"{p}.branch3.1", b3, c5, 3, 1, 1)
        b4 = net.maxpool(f"{p}.branch4.0", x, 3, 1, 1, ceil_mode=True)
        b4 = net.conv(f"{p}.branch4.1", b4, pp, 1, 1, 0)
        return net.concat(f"{p}.concat", [b1, b2, b3, b4])

    x = inception("inception3a", x, 64, 96, 128, 16, 32, 32)
    x = inception("inception3b", x, 128, 128, 192, 32, 96, 64)
    x = net.maxpool("maxpool3", x, 3, 2, ceil_mode=True)
    x = inception("inception4a", x, 192, 96, 208, 16, 48, 64)
    x = inception("inception4b", x, 160, 112, 224, 24, 64, 64)
    x = inception("inception4c", x, 128, 128, 256, 24, 64, 64)
    x = inception("inception4d", x, 112, 144, 288, 32, 64, 64)
    x = inception("inception4e", x, 256, 160, 320, 32, 128, 128)
    x = net.maxpool("maxpool4", x, 2, 2, ceil_mode=True)
    x = inception("inception5a", x, 256, 160, 320, 32, 128, 128)
    x = inception("inception5b", x, 384, 192, 384, 48, 128, 128)
    classifier_head(net, x)
    return net


def inceptionv3():
    net = Net("inceptionv3", "Inception v3",
              "Szegedy, Vanhoucke, Ioffe, Shlens, Wojna: Rethinking the Inception "
              "Architecture for Computer Vision (CVPR 2016); "
              "torchvision.models.inception_v3 without AuxLogits",
              {"params": 23851784, "macs": 5710000000,
               "source": "params: Keras applications InceptionV3, 23,851,784 (no "
                         "auxiliary head; torchvision's 27,161,264 includes AuxLogits); "
                         "MACs: torchvision Inception_V3_Weights.IMAGENET1K_V1, 5.71 "
                         "GFLOPS at 299x299 (multiply-accumulates)"},
              [1, 299, 299, 3])
    net.block("stem")
    x = net.conv("Conv2d_1a_3x3", "input", 32, 3, 2, 0)
    x = net.conv("Conv2d_2a_3x3", x, 32, 3, 1, 0)
    x = net.conv("Conv2d_2b_3x3", x, 64, 3, 1, 1)
    x = net.maxpool("maxpool1", x, 3, 2)
    x = net.conv("Conv2d_3b_1x1", x, 80, 1, 1, 0)
    x = net.conv("Conv2d_4a_3x3", x, 192, 3, 1, 0)
    x = net.maxpool("maxpool2", x, 3, 2)

    def block_a(p, x, pool_features):
        net.block(p)
        b1 = net.conv(f"{p}.branch1x1", x, 64, 1, 1, 0)
        b5 = net.conv(f"{p}.branch5x5_1", x, 48, 1, 1, 0)
        b5 = net.conv(f"{p}.branch5x5_2", b5, 64, 5, 1, 2)
        b3 = net.conv(f"{p}.branch3x3dbl_1", x, 64, 1, 1, 0)
        b3 = net.conv(f"{p}.branch3x3dbl_2", b3, 96, 3, 1, 1)
        b3 = net.conv(f"{p}.branch3x3dbl_3", b3, 96, 3, 1, 1)
        bp = net.avgpool(f"{p}.branch_pool.avg", x, 3, 1, 1)
        bp = net.conv(f"{p}.branch_pool", bp, pool_features, 1, 1, 0)
        return net.concat(f"{p}.concat", [b1, b5, b3, bp])

    def block_b(p, x):
        net.block(p)
        b3 = net.conv(f"{p}.branch3x3", x, 384, 3, 2, 0)
        bd = net.conv(f"{p}.branch3x3dbl_1", x, 64, 1, 1, 0)
        bd = net.conv(f"{p}.branch3x3dbl_2", bd, 96, 3, 1, 1)
        bd = net.conv(f"{p}.branch3x3dbl_3", bd, 96, 3, 2, 0)
        bp = net.maxpool(f"{p}.branch_pool", x, 3, 2)
        return net.concat(f"{p}.concat", [b3, bd, bp])

    def block_c(p, x, c7):
        net.block(p)
        b1 = net.conv(f"{p}.branch1x1", x, 192, 1, 1, 0)
        b7 = net.conv(f"{p}.branch7x7_1", x, c7, 1, 1, 0)
        b7 = net.conv(f"{p}.branch7x7_2", b7, c7, (1, 7), 1, (0, 3))
        b7 = net.conv(f"{p}.branch7x7_3", b7, 192, (7, 1), 1, (3, 0))
        bd = net.conv(f"{p}.branch7x7dbl_1", x, c7, 1, 1, 0)
        bd = net.conv(f"{p}.branch7x7dbl_2", bd, c7, (7, 1), 1, (3, 0))
        bd = net.conv(f"{p}.branch7x7dbl_3", bd, c7, (1, 7), 1, (0, 3))
        bd = net.conv(f"{p}.branch7x7dbl_4", bd, c7, (7, 1), 1, (3, 0))
        bd = net.conv(f"{p}.branch7x7dbl_5", bd, 192, (1, 7), 1, (0, 3))
        bp = net.avgpool(f"{p}.branch_pool.avg", x, 3, 1, 1)
        bp = net.conv(f"{p}.branch_pool", bp, 192, 1, 1, 0)
        return net.concat(f"{p}.concat", [b1, b7, bd, bp])

    def block_d(p, x):
        net.block(p)
        b3 = net.conv(f"{p}.branch3x3_1", x, 192, 1, 1, 0)
        b3 = net.conv(f"{p}.branch3x3_2", b3, 320, 3, 2, 0)
        b7 = net.conv(f"{p}.branch7x7x3_1", x, 192, 1, 1, 0)
        b7 = net.conv(f"{p}.branch7x7x3_2", b7, 192, (1, 7), 1, (0, 3))
        b7 = net.conv(f"{p}.branch7x7x3_3", b7, 192, (7, 1), 1, (3, 0))
        b7 = net.conv(f"{p}.branch7x7x3_4", b7, 192, 3, 2, 0)
        bp = net.maxpool(f"{p}.branch_pool", x, 3, 2)
        return net.concat(f"{p}.concat", [b3, b7, bp])

    def block_e(p, x):
        # The nested concatenations of the 3x3 branches are one concatenation
        # here: same channel order, one copy fewer.
        net.block(p)
        b1 = net.conv(f"{p}.branch1x1", x, 320, 1, 1, 0)
        b3 = net.conv(f"{p}.branch3x3_1", x, 384, 1, 1, 0)
        b3a = net.conv(f"{p}.branch3x3_2a", b3, 384, (1, 3), 1, (0, 1))
        b3b = net.conv(f"{p}.branch3x3_2b", b3, 384, (3, 1), 1, (1, 0))
        bd = net.conv(f"{p}.branch3x3dbl_1", x, 448, 1, 1, 0)
        bd = net.conv(f"{p}.branch3x3dbl_2", bd, 384, 3, 1, 1)
        bda = net.conv(f"{p}.branch3x3dbl_3a", bd, 384, (1, 3), 1, (0, 1))
        bdb = net.conv(f"{p}.branch3x3dbl_3b", bd, 384, (3, 1), 1, (1, 0))
        bp = net.avgpool(f"{p}.branch_pool.avg", x, 3, 1, 1)
        bp = net.conv(f"{p}.branch_pool", bp, 192, 1, 1, 0)
        return net.concat(f"{p}.concat", [b1, b3a, b3b, bda, bdb, bp])

    x = block_a("Mixed_5b", x, 32)
    x = block_a("Mixed_5c", x, 64)
    x = block_a("Mixed_5d", x, 64)
    x = block_b("Mixed_6a", x)
    x = block_c("Mixed_6b", x, 128)
    x = block_c("Mixed_6c", x, 160)
    x = block_c("Mixed_6d", x, 160)
    x = block_c("Mixed_6e", x, 192)
    x = block_d("Mixed_7a", x)
    x = block_e("Mixed_7b", x)
    x = block_e("Mixed_7c", x)
    classifier_head(net, x)
    return net


def efficientnetb0():
    net = Net("efficientnetb0", "EfficientNet-B0",
              "Tan, Le: EfficientNet: Rethinking Model Scaling for Convolutional "
              "Neural Networks (ICML 2019); torchvision.models.efficientnet_b0 "
              "(MBConv with squeeze-and-excitation, swish)",
              {"params": 5288548, "macs": 390000000,
               "source": "torchvision EfficientNet_B0_Weights.IMAGENET1K_V1: 5,288,548 "
                         "params, 0.39 GFLOPS (multiply-accumulates); the paper gives "
                         "5.3M and 0.39B FLOPs"},
              [1, 224, 224, 3])
    net.block("stem")
    x = net.conv("features.0", "input", 32, 3, 2, act="swish")
    # expand ratio, kernel, stride, output channels, repeats
    stages = [(1, 3, 1, 16, 1), (6, 3, 2, 24, 2), (6, 5, 2, 40, 2), (6, 3, 2, 80, 3),
              (6, 5, 1, 112, 3), (6, 5, 2, 192, 4), (6, 3, 1, 320, 1)]
    for si, (t, k, s, c, n) in enumerate(stages):
        for i in range(n):
            stride = s if i == 0 else 1
            cin = net.shape(x)[3]
            hidden = cin * t
            squeeze = max(1, cin // 4)  # of the block's input, as torchvision
            p = f"features.{si + 1}.{i}"
            net.block(p)
            y = x
            if t != 1:
                y = net.conv(f"{p}.expand", y, hidden, 1, 1, 0, act="swish")
            y = net.conv(f"{p}.dw", y, hidden, k, stride, g=hidden, act="swish")
            g = net.gavgpool(f"{p}.se.avgpool", y)
            g = net.conv(f"{p}.se.fc1", g, squeeze, 1, 1, 0, act="swish")
            g = net.conv(f"{p}.se.fc2", g, hidden, 1, 1, 0, act="sigmoid")
            y = net.mul(f"{p}.se.scale", y, g)
            y = net.conv(f"{p}.project", y, c, 1, 1, 0, act="none")
            if stride == 1 and cin == c:  # stochastic depth is the identity here
                y = net.add(f"{p}.add", y, x)
            x = y
    net.block("features.8")
    x = net.conv("features.8", x, 1280, 1, 1, 0, act="swish")
    classifier_head(net, x, name="classifier.1")
    return net


def yolov4tiny():
    net = Net("yolov4tiny", "YOLOv4-tiny",
              "Bochkovskiy, Wang, Liao: YOLOv4: Optimal Speed and Accuracy of Object "
              "Detection (arXiv 2004.10934) and Wang, Bochkovskiy, Liao: Scaled-YOLOv4 "
              "(CVPR 2021); the network of yolov4-tiny.cfg in AlexeyAB's darknet, "
              "80 classes, 3 anchors per head; the two outputs are the raw head "
              "tensors that the yolo layers decode",
              {"params": 6060000, "macs": 3455000000,
               "source": "darknet (AlexeyAB) on yolov4-tiny.cfg at 416x416: 6.910 "
                         "BFLOPs printed (2 per multiply-accumulate); about 6.06M "
                         "params"},
              [1, 416, 416, 3])
    leaky = {"act": "leaky", "alpha": 0.1}

    def conv(i, x, c, k, s=1, **kw):
        # darknet's pad=1 means size/2
        args = dict(leaky)
        args.update(kw)
        return net.conv(f"conv{i}", x, c, k, s, k // 2, **args)

    net.block("conv0")
    x = conv(0, "input", 32, 3, 2)
    net.block("conv1")
    x = conv(1, x, 64, 3, 2)

    def csp(first, x, c):
        # [conv c] [route -1 groups=2 group_id=1] [conv c/2] [conv c/2]
        # [route -1,-2] [conv c 1x1] [route -6,-1]
        net.block(f"csp{first}")
        a = conv(first, x, c, 3)
        s = net.slice(f"route{first + 1}", a, c // 2, c)
        b = conv(first + 2, s, c // 2, 3)
        d = conv(first + 3, b, c // 2, 3)
        r = net.concat(f"route{first + 4}", [d, b])
        e = conv(first + 5, r, c, 1)
        return net.concat(f"route{first + 6}", [a, e]), e

    x, _ = csp(2, x, 64)
    net.block("maxpool9")
    x = net.maxpool("maxpool9", x, 2, 2)
    x, _ = csp(10, x, 128)
    net.block("maxpool17")
    x = net.maxpool("maxpool17", x, 2, 2)
    x, route_23 = csp(18, x, 256)
    net.block("maxpool25")
    x = net.maxpool("maxpool25", x, 2, 2)
    net.block("conv26")
    x = conv(26, x, 512, 3)
    net.block("head13")
    neck = conv(27, x, 256, 1)
    y = conv(28, neck, 512, 3)
    out13 = conv(29, y, 255, 1, act="none")
    net.block("head26")
    y = conv(32, neck, 128, 1)
    y = net.upsample("upsample33", y, 2)
    y = net.concat("route34", [y, route_23])
    y = conv(35, y, 256, 3)
    out26 = conv(36, y, 255, 1, act="none")
    net.finish([out13, out26])
    return net


MODELS = [alexnet, vgg16, resnet18, resnet50, mobilenetv2, squeezenet11, googlenet,
          inceptionv3, efficientnetb0, yolov4tiny]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--outdir", default=os.path.dirname(os.path.abspath(__file__)))
    ap.add_argument("--summary", action="store_true", help="print figures, write nothing")
    args = ap.parse_args()
    for build in MODELS:
        net = build()
        if not args.summary:
            write(net, args.outdir)
        print(summary(net))
    return 0


if __name__ == "__main__":
    sys.exit(main())
