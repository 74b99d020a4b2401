/* crypto/block-luks2-json.c: not yet written (placeholder so the build lists every file). */
