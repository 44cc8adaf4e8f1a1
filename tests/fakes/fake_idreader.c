/* A fake ID card reader vendor library for the tests: both API families in one .so.
 *
 *   SDT family (sdtapi.dll / libsdtapi.so): SDT_OpenPort, SDT_ClosePort, SDT_StartFindIDCard,
 *     SDT_SelectIDCard, SDT_ReadBaseMsg; return 0x90 ok, 0x9F card found, 0x80 no card, ...
 *   CVR family (termb.dll / libtermb.so): CVR_InitComm, CVR_CloseComm, CVR_Authenticate,
 *     CVR_Read_Content, CVR_Read_FPContent and the per-field getters; return 1 ok.
 *
 * Behaviour comes from the file named by FAKE_IDREADER_CONFIG, read on every call, one
 * "key=value" per line:
 *   present=0|1          a card is on the reader
 *   text=PATH            the 256-byte UCS-2 text block SDT_ReadBaseMsg returns
 *   photo=PATH           the 1024-byte WLT photo SDT_ReadBaseMsg returns
 *   bmp=PATH             the BMP GetBMPData returns (CVR)
 *   rc.NAME=INT          force the return code of entry point NAME (e.g. rc.SDT_OpenPort=1)
 *   delay.NAME=MS        sleep MS milliseconds inside NAME (a hung reader)
 *   cvr.GETTER=HEX       bytes a CVR getter returns (e.g. cvr.GetPeopleName=c0eecbc4)
 * Every call is appended to the file named by "log=PATH" as "NAME arg\n".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_LINE 4096

static int config_value(const char *key, char *out, size_t out_len) {
    const char *path = getenv("FAKE_IDREADER_CONFIG");
    if (!path) return 0;
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    char line[MAX_LINE];
    size_t klen = strlen(key);
    int found = 0;
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, key, klen) == 0 && line[klen] == '=') {
            char *v = line + klen + 1;
            v[strcspn(v, "\r\n")] = 0;
            strncpy(out, v, out_len - 1);
            out[out_len - 1] = 0;
            found = 1;
        }
    }
    fclose(f);
    return found;
}

static int config_int(const char *key, int fallback) {
    char v[64];
    return config_value(key, v, sizeof v) ? (int)strtol(v, NULL, 0) : fallback;
}

static void log_call(const char *name, int arg) {
    char path[1024];
    if (!config_value("log", path, sizeof path)) return;
    FILE *f = fopen(path, "a");
    if (!f) return;
    fprintf(f, "%s %d\n", name, arg);
    fclose(f);
}

static void delay(const char *name) {
    char key[128];
    snprintf(key, sizeof key, "delay.%s", name);
    int ms = config_int(key, 0);
    if (ms > 0) {
        struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
        nanosleep(&ts, NULL);
    }
}

/* Log, delay, then the forced return code or FALLBACK. */
static int enter(const char *name, int arg, int fallback) {
    char key[128];
    log_call(name, arg);
    delay(name);
    snprintf(key, sizeof key, "rc.%s", name);
    return config_int(key, fallback);
}

static long read_file(const char *key, unsigned char *out, long cap) {
    char path[1024];
    if (!config_value(key, path, sizeof path)) return -1;
    FILE *f = fopen(path, "rb");
    if (!f) return -1;
    long n = (long)fread(out, 1, (size_t)cap, f);
    fclose(f);
    return n;
}

static int present(void) { return config_int("present", 0); }

/* ------------------------------------------------------------------ SDT family */

int SDT_OpenPort(int port) { return enter("SDT_OpenPort", port, 0x90); }

int SDT_ClosePort(int port) { return enter("SDT_ClosePort", port, 0x90); }

int SDT_StartFindIDCard(int port, unsigned char *mana, int if_open) {
    (void)if_open;
    if (mana) memset(mana, 0, 8);
    return enter("SDT_StartFindIDCard", port, present() ? 0x9F : 0x80);
}

int SDT_SelectIDCard(int port, unsigned char *mana, int if_open) {
    (void)if_open;
    if (mana) memset(mana, 0, 8);
    return enter("SDT_SelectIDCard", port, present() ? 0x90 : 0x81);
}

int SDT_ReadBaseMsg(int port, unsigned char *ch, unsigned int *ch_len, unsigned char *ph,
                    unsigned int *ph_len, int if_open) {
    (void)if_open;
    int rc = enter("SDT_ReadBaseMsg", port, present() ? 0x90 : 0x41);
    if (rc != 0x90) return rc;
    long t = read_file("text", ch, 256);
    long p = read_file("photo", ph, 1024);
    *ch_len = t < 0 ? 0 : (unsigned int)t;
    *ph_len = p < 0 ? 0 : (unsigned int)p;
    return rc;
}

/* ------------------------------------------------------------------ CVR family */

int CVR_InitComm(int port) { return enter("CVR_InitComm", port, 1); }

int CVR_CloseComm(void) { return enter("CVR_CloseComm", 0, 1); }

int CVR_Authenticate(void) { return enter("CVR_Authenticate", 0, present() ? 1 : 2); }

int CVR_Read_Content(int active) { return enter("CVR_Read_Content", active, present() ? 1 : 0); }

int CVR_Read_FPContent(void) { return enter("CVR_Read_FPContent", 0, present() ? 1 : 0); }

static int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* A getter: copy the configured bytes (hex in the config) into BUF, length into LEN. */
static int getter(const char *name, unsigned char *buf, int *len) {
    char key[128], hex[MAX_LINE];
    log_call(name, *len);
    snprintf(key, sizeof key, "cvr.%s", name);
    if (!config_value(key, hex, sizeof hex)) {
        *len = 0;
        return 0;
    }
    int n = 0, cap = *len;
    for (size_t i = 0; hex[i] && hex[i + 1] && n < cap - 1; i += 2)
        buf[n++] = (unsigned char)(hexval(hex[i]) * 16 + hexval(hex[i + 1]));
    buf[n] = 0;
    *len = n;
    return 1;
}

#define GETTER(NAME) \
    int NAME(unsigned char *buf, int *len) { return getter(#NAME, buf, len); }

GETTER(GetCertType)
GETTER(GetPeopleName)
GETTER(GetPeopleChineseName)
GETTER(GetPeopleSex)
GETTER(GetPeopleNation)
GETTER(GetNationCode)
GETTER(GetPeopleBirthday)
GETTER(GetPeopleAddress)
GETTER(GetPeopleIDCode)
GETTER(GetDepartment)
GETTER(GetStartDate)
GETTER(GetEndDate)
GETTER(GetPassCheckID)
GETTER(GetIssuesNum)
GETTER(GetPeopleCertVersion)

int GetBMPData(unsigned char *buf, int *len) {
    log_call("GetBMPData", *len);
    long n = read_file("bmp", buf, *len);
    if (n < 0) {
        *len = 0;
        return 0;
    }
    *len = (int)n;
    return 1;
}
