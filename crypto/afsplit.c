/* crypto/afsplit.c: not yet written (placeholder so the build lists every file). */
