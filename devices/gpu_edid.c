/* SPDX-License-Identifier: BSD-3-Clause */
/* A 128-byte EDID 1.4 base block for one display mode (VESA E-EDID
 * release A2): header, vendor "VDM", sRGB colour, one preferred detailed
 * timing (reduced blanking, 60 Hz), the established 640x480, 800x600 and
 * 1024x768 modes, range limits, a monitor name. What a
 * host without a real display hands to GET_EDID. */
#include "vdm/devices/gpu.h"

#define EDID_BYTES 128u
#define DPI        96u /* physical size reported: 96 pixels per inch */

static void put_descriptor_head(uint8_t *d, uint8_t tag)
{
    d[0] = 0;
    d[1] = 0;
    d[2] = 0;
    d[3] = tag;
    d[4] = 0;
}

/* Detailed timing descriptor: active w x h, horizontal blanking 160 pixels
 * (front 48, sync 32), vertical blanking ~3.3% of the frame (front 3, sync
 * 5), 60 Hz; hsync positive, vsync negative. */
static void put_timing(uint8_t *d, uint32_t w, uint32_t h)
{
    uint32_t hbl = 160u;
    uint32_t hfp = 48u;
    uint32_t hsw = 32u;
    uint32_t vbl = ((h + 29u) / 30u) + 8u;
    uint32_t vfp = 3u;
    uint32_t vsw = 5u;
    uint64_t clk =
        ((((uint64_t)w + hbl) * ((uint64_t)h + vbl) * 60u) + 9999u) / 10000u;
    uint32_t wmm = (w * 254u) / (DPI * 10u);
    uint32_t hmm = (h * 254u) / (DPI * 10u);

    if (clk > 0xffffu) {
        clk = 0xffffu;
    }
    d[0] = (uint8_t)clk;
    d[1] = (uint8_t)(clk >> 8);
    d[2] = (uint8_t)w;
    d[3] = (uint8_t)hbl;
    d[4] = (uint8_t)((((w >> 8) & 0xfu) << 4) | ((hbl >> 8) & 0xfu));
    d[5] = (uint8_t)h;
    d[6] = (uint8_t)vbl;
    d[7] = (uint8_t)((((h >> 8) & 0xfu) << 4) | ((vbl >> 8) & 0xfu));
    d[8] = (uint8_t)hfp;
    d[9] = (uint8_t)hsw;
    d[10] = (uint8_t)(((vfp & 0xfu) << 4) | (vsw & 0xfu));
    d[11] = (uint8_t)((((hfp >> 8) & 3u) << 6) | (((hsw >> 8) & 3u) << 4) |
                      (((vfp >> 4) & 3u) << 2) | ((vsw >> 4) & 3u));
    d[12] = (uint8_t)wmm;
    d[13] = (uint8_t)hmm;
    d[14] = (uint8_t)((((wmm >> 8) & 0xfu) << 4) | ((hmm >> 8) & 0xfu));
    d[15] = 0;
    d[16] = 0;
    d[17] = 0x1a; /* digital separate sync, hsync +, vsync - */
}

int vdm_gpu_edid(uint8_t *buf, uint32_t cap, uint32_t width, uint32_t height,
                 const char *name)
{
    /* sRGB primaries and D65 white, 10-bit fixed point (x * 1024). */
    static const uint16_t chroma[8] = {655, 338, 307, 614, 154, 61, 320, 337};
    uint32_t i;
    uint32_t sum = 0u;
    uint32_t clk10;
    uint32_t size;
    uint8_t *d;

    if ((buf == NULL) || (cap < EDID_BYTES) || (width == 0u) ||
        (height == 0u) || (width > 4095u) || (height > 4095u)) {
        return VDM_EINVAL;
    }
    __builtin_memset(buf, 0, EDID_BYTES);
    for (i = 1u; i < 7u; i++) {
        buf[i] = 0xff;
    }
    /* Vendor "VDM": three 5-bit letters, big-endian. */
    buf[8] = 0x58; /* V = 22, D = 4, M = 13: 10110 00100 01101 */
    buf[9] = 0x8d;
    buf[10] = 1;  /* product code */
    buf[17] = 34; /* model year 2024 */
    buf[18] = 1;  /* EDID 1.4 */
    buf[19] = 4;
    buf[20] = 0xa0;                       /* digital, 8 bits per colour */
    size = (width * 254u) / (DPI * 100u); /* cm, at least 1 */
    buf[21] = (uint8_t)((size != 0u) ? size : 1u);
    size = (height * 254u) / (DPI * 100u);
    buf[22] = (uint8_t)((size != 0u) ? size : 1u);
    buf[23] = 120;  /* gamma 2.2 */
    buf[24] = 0x07; /* RGB 4:4:4, sRGB, preferred timing native, continuous */
    buf[25] = (uint8_t)(((chroma[0] & 3u) << 6) | ((chroma[1] & 3u) << 4) |
                        ((chroma[2] & 3u) << 2) | (chroma[3] & 3u));
    buf[26] = (uint8_t)(((chroma[4] & 3u) << 6) | ((chroma[5] & 3u) << 4) |
                        ((chroma[6] & 3u) << 2) | (chroma[7] & 3u));
    for (i = 0u; i < 8u; i++) {
        buf[27u + i] = (uint8_t)(chroma[i] >> 2);
    }
    /* Established timings: 640x480, 800x600 and 1024x768 at 60 Hz, so a
     * driver can switch modes on any display. */
    buf[35] = 0x20;
    buf[36] = 0x09;
    for (i = 38u; i < 54u; i++) {
        buf[i] = 1; /* standard timings unused */
    }

    put_timing(buf + 54, width, height);
    clk10 = (((uint32_t)buf[54] | ((uint32_t)buf[55] << 8)) / 1000u) + 1u;

    d = buf + 72; /* display range limits */
    put_descriptor_head(d, 0xfd);
    d[5] = 50;  /* vertical Hz, min */
    d[6] = 75;  /* max */
    d[7] = 1;   /* horizontal kHz, min */
    d[8] = 255; /* max */
    /* pixel clock / 10 MHz: the preferred mode's, and at least the 65 MHz
     * of the established 1024x768 mode */
    d[9] = (uint8_t)((clk10 > 255u) ? 255u : ((clk10 < 7u) ? 7u : clk10));
    d[10] = 1; /* range limits only */
    d[11] = 0x0a;
    for (i = 12u; i < 18u; i++) {
        d[i] = 0x20;
    }

    d = buf + 90; /* monitor name */
    put_descriptor_head(d, 0xfc);
    for (i = 0u; i < 13u; i++) {
        d[5u + i] = 0x20;
    }
    for (i = 0u; (name != NULL) && (name[i] != '\0') && (i < 13u); i++) {
        d[5u + i] = (uint8_t)name[i];
    }
    if (i < 13u) {
        d[5u + i] = 0x0a;
    }

    put_descriptor_head(buf + 108, 0x10); /* dummy */

    for (i = 0u; i < (EDID_BYTES - 1u); i++) {
        sum += buf[i];
    }
    buf[127] = (uint8_t)(0x100u - (sum & 0xffu));
    return (int)EDID_BYTES;
}
