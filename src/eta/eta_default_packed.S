/* eta_default_packed.S -- the built-in model in its packed form, made at
 * build time by eta_pack from models/eta-default.json (the Makefile passes
 * the packed file's path as ETA_DEFAULT_PACKED). Linked into each binary
 * rather than the archive: eta_model.c refers to it weakly, and a binary
 * without it parses the JSON instead (the fuzz build). */
    .section .rodata
    .balign 8
    .global eta_default_model_packed
    .global eta_default_model_packed_end
eta_default_model_packed:
    .incbin ETA_DEFAULT_PACKED
eta_default_model_packed_end:
    .byte 0
    .section .note.GNU-stack,"",@progbits
