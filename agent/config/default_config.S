/* The embedded default configuration: docs/triage.example.json, verbatim,
 * NUL-terminated, as the C string config_default_json (agent/config/config.h). */
	.section .rodata
	.global config_default_json
	.type config_default_json, @object
config_default_json:
	.incbin "docs/triage.example.json"
	.byte 0
	.size config_default_json, . - config_default_json
	.section .note.GNU-stack, "", @progbits
