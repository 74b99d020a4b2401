/* luksblk-io: placeholder main until the tool lands. */
#include <stdio.h>
int main(void)
{
    fprintf(stderr, "luksblk-io: not implemented yet\n");
    return 1;
}
