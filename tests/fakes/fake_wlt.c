/* A fake WLT photo decoder for the tests, shaped like the vendor libwlt.so export:
 *   int unpack(char *wlt, char *out, int flag)   -> 1 on success
 * OUT receives 102x126 pixels, 3 bytes each (B, G, R), rows top down. The image is a
 * deterministic function of the WLT bytes so a test can compute what it expects by hand:
 *   B = wlt[(y * 102 + x) % 1024], G = x, R = y.
 * A WLT starting with "BAD!" fails (returns -1), as a corrupt photo does.
 */
#include <string.h>

int unpack(char *wlt, char *out, int flag) {
    (void)flag;
    if (memcmp(wlt, "BAD!", 4) == 0) return -1;
    for (int y = 0; y < 126; y++) {
        for (int x = 0; x < 102; x++) {
            unsigned char *p = (unsigned char *)out + (y * 102 + x) * 3;
            p[0] = (unsigned char)wlt[(y * 102 + x) % 1024];
            p[1] = (unsigned char)x;
            p[2] = (unsigned char)y;
        }
    }
    return 1;
}
