#!/bin/bash
# The elastic kernels' fatbin, as make built it: SASS for sm_87 (Orin),
# sm_90 (H100) and sm_110 (Thor) and compute_87 PTX; every kernel symbol
# tk_<op>_t<threads> of cuda/kernels/elastic.h in each of them; and the copy
# embedded in the library object byte for byte the file. The images are read
# from the fatbin's own headers (so no CUDA tool is needed to check them);
# cuobjdump, where the toolkit has it, cross-checks the listing. Without
# nvcc nothing was built: one skip line. No root, no GPU.
#   bash tests/e2e/cuda-fatbin.sh BUILD_DIR
set -u
. "$(dirname "$0")/../lib.sh"

FATBIN=$BUILD/cuda/triage_kernels.fatbin
OBJ=$BUILD/obj/cuda/kernels/fatbin.o
OPS="conv_direct conv_depthwise conv_pointwise fc maxpool avgpool gavgpool add mul act
     copy_channels upsample softmax"
VARIANTS="64 128 256"
SASS="87 90 110"
PTX=87

# nvcc as cuda/kernels.mk finds it.
NVCC=${NVCC:-}
if [ -z "$NVCC" ]; then
	if [ -x /usr/local/cuda/bin/nvcc ]; then NVCC=/usr/local/cuda/bin/nvcc; else NVCC=nvcc; fi
fi
NVCC=$(command -v "$NVCC" 2>/dev/null)
if [ -z "$NVCC" ]; then
	skip cuda-fatbin "nvcc not found: the GPU kernels were not built"
	exit 0
fi
if [ ! -s "$FATBIN" ] || [ ! -e "$OBJ" ]; then
	not_ok "fatbin built" "nvcc is $NVCC but $FATBIN or $OBJ is missing (run make)"
	exit 1
fi

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

# u32 / u16 / u64 at a byte offset, little-endian as the fatbin is.
u32() { od -An -t u4 -j "$2" -N 4 "$1" | tr -d ' '; }
u16() { od -An -t u2 -j "$2" -N 2 "$1" | tr -d ' '; }
u64() { echo $(($(u32 "$1" "$2") + ($(u32 "$1" $(($2 + 4))) << 32))); }

# --- the container: magic, and sizes that add up to the file -------------------
size=$(stat -c %s "$FATBIN")
magic=$(u32 "$FATBIN" 0)
hdr=$(u16 "$FATBIN" 6)
body=$(u64 "$FATBIN" 8)
if [ "$magic" = $((0xba55ed50)) ] && [ $((hdr + body)) -eq "$size" ]; then
	ok "fatbin header: magic 0xba55ed50, $hdr + $body bytes = the file"
else
	not_ok "fatbin header" "magic $magic, header $hdr + body $body vs file $size"
	exit 1
fi

# --- its images: kind (1 PTX, 2 ELF), target, payload ----------------------------
# An image is a header (kind u16 at 0, header size u32 at 4, payload size
# u64 at 8, target u32 at 28) and its payload; each is cut out into $TMP.
images=()
off=$hdr
while [ "$off" -lt "$size" ]; do
	kind=$(u16 "$FATBIN" "$off")
	ihdr=$(u32 "$FATBIN" $((off + 4)))
	payload=$(u64 "$FATBIN" $((off + 8)))
	sm=$(u32 "$FATBIN" $((off + 28)))
	if [ "$ihdr" -lt 32 ] || [ $((off + ihdr + payload)) -gt "$size" ]; then
		not_ok "fatbin images" "image at $off: header $ihdr, payload $payload past the file"
		exit 1
	fi
	case $kind in
	1) name=ptx.$sm ;;
	2) name=elf.$sm ;;
	*) name=kind$kind.$sm ;;
	esac
	tail -c +$((off + ihdr + 1)) "$FATBIN" | head -c "$payload" >"$TMP/$name"
	images+=("$name")
	off=$((off + ihdr + payload))
done
listing=" ${images[*]} "
missing=
for sm in $SASS; do [[ $listing == *" elf.$sm "* ]] || missing+=" sm_$sm"; done
[[ $listing == *" ptx.$PTX "* ]] || missing+=" compute_${PTX} PTX"
if [ -z "$missing" ]; then
	ok "fatbin holds ELF for sm_${SASS// /, sm_} and PTX for compute_$PTX (${images[*]})"
else
	not_ok "fatbin targets" "missing:$missing (has: ${images[*]})"
fi

# Compressed images would hide their symbols (and need a newer driver).
if head -c 4 "$TMP/elf.87" 2>/dev/null | grep -q 'ELF' &&
	grep -aq "^\.target sm_$PTX" "$TMP/ptx.$PTX" 2>/dev/null; then
	ok "images uncompressed: ELF objects and PTX text for .target sm_$PTX"
else
	not_ok "images uncompressed" "the sm_87 image is no ELF or the PTX has no .target sm_$PTX"
fi

# --- every kernel in every image -----------------------------------------------
absent=
for sm in $SASS; do
	[ -e "$TMP/elf.$sm" ] || continue
	readelf -sW "$TMP/elf.$sm" 2>/dev/null | awk '$4 == "FUNC" && $5 == "GLOBAL" { print $NF }' >"$TMP/syms.$sm"
	for op in $OPS; do
		for t in $VARIANTS; do
			grep -qx "tk_${op}_t$t" "$TMP/syms.$sm" || absent+=" sm_$sm:tk_${op}_t$t"
		done
	done
done
for op in $OPS; do
	for t in $VARIANTS; do
		grep -aq "^\.visible \.entry tk_${op}_t$t(" "$TMP/ptx.$PTX" 2>/dev/null ||
			absent+=" ptx:tk_${op}_t$t"
	done
done
nr_ops=$(wc -w <<<"$OPS")
if [ -z "$absent" ]; then
	ok "all $((nr_ops * 3)) kernels tk_<op>_t{64,128,256} in each SASS image and the PTX"
else
	not_ok "every kernel symbol" "missing:$absent"
fi

# --- the embedded copy ---------------------------------------------------------
embedded=$(nm -S --defined-only "$OBJ" 2>/dev/null | awk '$4 == "triage_kernels_fatbin" { print $2 }')
if [ -n "$embedded" ] && [ $((16#$embedded)) -eq "$size" ]; then
	ok "embedded triage_kernels_fatbin is $size bytes, the file's size"
else
	not_ok "embedded size" "symbol size ${embedded:-none} (hex) vs file $size"
fi
if objcopy -O binary --only-section=.rodata.triage_kernels_fatbin "$OBJ" "$TMP/embedded" 2>/dev/null &&
	cmp -s "$TMP/embedded" "$FATBIN"; then
	ok "embedded copy equals the fatbin byte for byte"
else
	not_ok "embedded bytes" "section .rodata.triage_kernels_fatbin of $OBJ differs from $FATBIN"
fi

# --- cuobjdump's view, where the toolkit ships it -------------------------------
CUOBJDUMP=$(dirname "$NVCC")/cuobjdump
if [ -x "$CUOBJDUMP" ]; then
	"$CUOBJDUMP" --list-elf --list-ptx "$FATBIN" >"$TMP/cuobjdump" 2>&1
	missing=
	for sm in $SASS; do grep -q "ELF file.*sm_$sm\b" "$TMP/cuobjdump" || missing+=" ELF sm_$sm"; done
	grep -q "PTX file.*sm_$PTX\b" "$TMP/cuobjdump" || missing+=" PTX compute_$PTX"
	if [ -z "$missing" ]; then
		ok "cuobjdump lists ELF for sm_${SASS// /, sm_} and PTX for $PTX"
	else
		not_ok "cuobjdump listing" "missing:$missing: $(tr '\n' ' ' <"$TMP/cuobjdump")"
	fi
else
	skip "cuobjdump listing" "no cuobjdump beside $NVCC (the headers were read instead)"
fi

[ "$T_FAILED" -eq 0 ]
