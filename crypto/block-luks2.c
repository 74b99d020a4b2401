/* crypto/block-luks2.c: not yet written (placeholder so the build lists every file). */
