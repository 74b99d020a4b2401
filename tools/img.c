/* luksblk-img: placeholder main until the tool lands. */
#include <stdio.h>
int main(void)
{
    fprintf(stderr, "luksblk-img: not implemented yet\n");
    return 1;
}
