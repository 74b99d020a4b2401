/* crypto/block-luks2-disk.c: not yet written (placeholder so the build lists every file). */
