/* The elastic kernels' fatbin (build/cuda/triage_kernels.fatbin), embedded
 * verbatim so that the runtime loads its module from memory and no file
 * has to be found at run time: triage_kernels_fatbin and its size in bytes,
 * triage_kernels_fatbin_size (cuda/kernels/fatbin.h). Built without nvcc
 * (TK_WITH_FATBIN undefined) the array is empty and the size 0, so every
 * binary still links and the runtime can say it has no GPU kernels.
 * 16-byte aligned: the driver reads the fatbin header in place. */
	.section .rodata.triage_kernels_fatbin, "a", @progbits
	.balign 16
	.global triage_kernels_fatbin
	.type triage_kernels_fatbin, @object
triage_kernels_fatbin:
#ifdef TK_WITH_FATBIN
	.incbin "triage_kernels.fatbin"
#endif
.Lfatbin_end:
	.size triage_kernels_fatbin, .Lfatbin_end - triage_kernels_fatbin

	.section .rodata
	.balign 8
	.global triage_kernels_fatbin_size
	.type triage_kernels_fatbin_size, @object
triage_kernels_fatbin_size:
	.quad .Lfatbin_end - triage_kernels_fatbin
	.size triage_kernels_fatbin_size, 8
	.section .note.GNU-stack, "", @progbits
