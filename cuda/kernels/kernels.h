/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * The host side of the elastic kernels, in plain C with no CUDA header:
 * what the runtime needs to find a kernel in the fatbin ("tk_<op>_t<n>"),
 * to size its logical grid, and to turn a layer of the model zoo into the
 * launches that compute it. Keeping this free of CUDA lets the agent, the
 * unit tests and a build without nvcc use it.
 *
 * Errors: functions return a negative errno (-EINVAL, -ENOSPC, -ERANGE,
 * -EOPNOTSUPP) and, where they take err, one line saying what is wrong.
 */
#ifndef TRIAGE_CUDA_KERNELS_H
#define TRIAGE_CUDA_KERNELS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "elastic.h"
#include "ops.h"
#include "zoo.h"

/* The longest symbol is "tk_conv_pointwise_t256" (and its NUL). */
#define TK_SYMBOL_MAX 32

/* Launches one zoo layer takes at most: a concat is one per input. */
#define TK_MAX_LAUNCHES DNN_MAX_INPUTS

/* Items a logical grid may hold: the bodies index tensors with 32-bit
 * integers, and tk_layer_launches() refuses any tensor larger than this. */
#define TK_MAX_ITEMS INT32_MAX

/* TK_BLOCK_VARIANTS as an array, smallest first. */
extern const int tk_block_variants[TK_NR_BLOCK_VARIANTS];

/* "conv_direct", ... in enum order; "?" for anything else. */
const char *tk_op_name(enum tk_op op);

/* The enum tk_op of a name tk_op_name() returns; -1 when unknown. */
int tk_op_parse(const char *name);

/* Whether a kernel variant of this many threads per block is built. */
bool tk_block_variant_ok(int threads);

/* Writes "tk_<op>_t<threads>" into buf. Returns 0; -EINVAL for an unknown op
 * or a thread count that is not a variant; -ENOSPC when len is too small
 * (buf then holds an empty string). */
int tk_kernel_symbol(enum tk_op op, int threads, char *buf, size_t len);

/* tk_args_size(op), bytes of an op's args struct: ops.h. */

/* Work items of op on args (the op's struct tk_<x>_args): output elements,
 * or pixels for softmax. 0 for an unknown op. */
int64_t tk_args_items(enum tk_op op, const void *args);

/* Logical blocks: ceil(items / TK_LOGICAL_THREADS), the range a slice indexes. */
uint32_t tk_args_logical_blocks(enum tk_op op, const void *args);

/* One kernel launch: the op and its args, ready for
 * kernelParams = { &slice, &launch.args }. */
struct tk_launch {
	enum tk_op op;
	union tk_args args;
};

/* Device addresses of one layer's tensors and parameters. */
struct tk_layer_buffers {
	tk_dptr in[DNN_MAX_INPUTS]; /* the layer's inputs, in dnn_layer.inputs order */
	tk_dptr out;
	tk_dptr weight; /* conv and fc: the layouts of elastic.h */
	tk_dptr bias;	/* conv and fc with a bias; ignored when the layer has none */
};

/* Elements of layer i's weight and bias tensors (0 and 0 for layers without
 * parameters; bias 0 when the layer has none). */
void tk_layer_param_elems(const struct dnn_model *m, int i, int64_t *weight, int64_t *bias);

/*
 * Fills launches[] with what computes layer i of m (which passed
 * dnn_model_check()), reading and writing the addresses in buf: conv as
 * pointwise (1x1, stride 1, no padding, groups 1), depthwise (groups = IC =
 * OC) or direct; concat as one copy_channels per input; slice as one
 * copy_channels; the others one launch each. The launches of one layer
 * write disjoint parts of its output and may run in any order.
 * Returns how many (1..max), or a negative errno with one line in err:
 * -EOPNOTSUPP for a layer the kernels do not cover, -ERANGE for a tensor of
 * more than TK_MAX_ITEMS elements, -EINVAL for a missing buffer, -ENOSPC
 * when max is too small.
 */
int tk_layer_launches(const struct dnn_model *m, int i, const struct tk_layer_buffers *buf,
		      struct tk_launch *launches, int max, char *err, size_t errlen);

#endif
