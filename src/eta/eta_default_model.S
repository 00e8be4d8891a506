/* eta_default_model.S -- models/eta-default.json, built into the sensor so
 * it scores flows with no --model and no file to find at run time. The
 * Makefile passes the file's path as ETA_DEFAULT_MODEL. */
    .section .rodata
    .global eta_default_model_json
    .global eta_default_model_json_end
eta_default_model_json:
    .incbin ETA_DEFAULT_MODEL
eta_default_model_json_end:
    .byte 0
    .section .note.GNU-stack,"",@progbits
