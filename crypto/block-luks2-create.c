/* crypto/block-luks2-create.c: not yet written (placeholder so the build lists every file). */
