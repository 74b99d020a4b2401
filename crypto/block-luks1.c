/* crypto/block-luks1.c: not yet written (placeholder so the build lists every file). */
