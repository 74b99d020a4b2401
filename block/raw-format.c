/* block/raw-format.c: not yet written (placeholder so the build lists every file). */
