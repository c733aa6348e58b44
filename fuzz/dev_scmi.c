/* SPDX-License-Identifier: BSD-3-Clause */
/* Fuzz plug-in: virtio-scmi (fuzz_dev.h). The platform answers commands at
 * once (well-formed, failing, too short or too long answers), keeps them
 * for a later completion, answers from inside the hook, or refuses them;
 * the host sends P2A messages of any length into the eventq. Oracles:
 * every command handed over is within the transport's bounds; every used
 * length fits the buffer, and a chain with room for a response gets at
 * least a header and a status. */
#include <string.h>

#include "fuzz_dev.h"
#include "vdm/devices/scmi.h"

#define NPEND 40u

static struct {
    struct vdm_scmi scmi;
    struct vdm_scmi_ops ops;
    unsigned mode; /* 0 answer, 1 keep, 2 refuse, 3 bad length, 4 inside */
    void *pend[NPEND];
    unsigned npend;
    int p2a; /* P2A offered */
} S;

static int s_command(void *host, const struct vdm_scmi_cmd *cmd, uint8_t *resp,
                     uint32_t *resp_len, void *token)
{
    uint32_t n;
    (void)host;
    FZ_CHECK(cmd->len >= 4 && cmd->len <= VDM_SCMI_MSG_MAX, "command len %u",
             cmd->len);
    FZ_CHECK(cmd->resp_max >= 8 && cmd->resp_max <= VDM_SCMI_MSG_MAX,
             "resp_max %u", cmd->resp_max);
    FZ_CHECK(cmd->p2a == (uint32_t)vdm_scmi_p2a(&S.scmi), "p2a flag");
    memcpy(resp, cmd->msg, 4);
    n = 4u + cmd->msg[0] % (cmd->resp_max - 3u); /* 4..resp_max */
    memset(resp + 4, cmd->len > 4 ? cmd->msg[4] & 0x81 : 0, n - 4u);
    switch (S.mode) {
    case 1:
        if (S.npend < NPEND) {
            S.pend[S.npend++] = token;
            return VDM_SCMI_PENDING;
        }
        *resp_len = n;
        return 0;
    case 2: return VDM_EIO;
    case 3: *resp_len = cmd->resp_max + 1u; return 0;
    case 4: {
        int rc = vdm_scmi_complete(&S.scmi, token, resp, n);
        FZ_CHECK(rc == 0, "complete inside command: %d", rc);
        /* breaking the contract: also answer synchronously; the device
         * must not end the chain twice */
        *resp_len = n;
        return cmd->msg[0] & 1 ? 0 : VDM_SCMI_PENDING;
    }
    default: *resp_len = n; return 0;
    }
}

static int scmi_create(struct vdm_dev *dev, struct vdm_dev_config *base,
                       uint8_t cb)
{
    struct vdm_scmi_config c = {.size = sizeof(c)};
    memset(&S, 0, sizeof(S));
    S.mode = cb % 5u;
    S.p2a = (cb & 8u) == 0;
    base->num_queues = 2;
    S.ops = (struct vdm_scmi_ops){.size = sizeof(S.ops), .command = s_command};
    c.ops = &S.ops;
    c.features = S.p2a ? VDM_SCMI_F_P2A_CHANNELS : 0;
    return vdm_scmi_init(&S.scmi, dev, &c, base);
}

/* A command: header and up to 67 parameter bytes, or fewer than 4 bytes. */
static uint32_t scmi_request(struct fz *f, uint8_t *req, uint32_t *type)
{
    uint32_t n = fz_u8(f) % 72u;
    (void)type;
    fz_bytes(f, req, n);
    return n;
}

static void scmi_check_used(unsigned q, const struct fd_rec *r,
                            const struct drv_used *u)
{
    FZ_CHECK(u->len <= r->wlen, "queue %u used len %u of %llu writable", q,
             u->len, (unsigned long long)r->wlen);
    FZ_CHECK(u->len <= VDM_SCMI_MSG_MAX, "used len %u", u->len);
    if (q == VDM_SCMI_QUEUE_CMD && r->checkable)
        FZ_CHECK((r->wlen < 8) ? u->len == 0 : u->len >= 8,
                 "cmdq used len %u of %llu writable", u->len,
                 (unsigned long long)r->wlen);
}

static void complete_one(unsigned i, uint32_t len)
{
    uint8_t resp[VDM_SCMI_MSG_MAX + 1];
    void *t = S.pend[i];
    int rc;
    memset(resp, 0, sizeof(resp));
    S.pend[i] = S.pend[--S.npend];
    rc = vdm_scmi_complete(&S.scmi, t, resp, len % sizeof(resp));
    FZ_CHECK(rc == 0 || rc == VDM_ESTATE || fd_lenient(), "complete %d", rc);
}

static void scmi_host(uint8_t act, uint32_t arg)
{
    switch (act % 4) {
    case 0: S.mode = arg % 5u; break;
    case 1:
        if (S.npend > 0)
            complete_one(arg % S.npend, arg >> 8);
        break;
    case 2: {
        void *t = (void *)(uintptr_t)(arg | 1u);
        int rc = vdm_scmi_complete(&S.scmi, t, NULL, 0);
        int held = 0;
        for (unsigned i = 0; i < S.npend; i++)
            if (S.pend[i] == t) {
                held = 1;
                S.pend[i] = S.pend[--S.npend];
                break;
            }
        FZ_CHECK(rc == VDM_EINVAL || held, "forged token accepted");
        break;
    }
    default: {
        uint8_t msg[VDM_SCMI_MSG_MAX + 8];
        uint32_t len = arg % (VDM_SCMI_MSG_MAX + 8u);
        int rc;
        memset(msg, (int)(arg >> 8), sizeof(msg));
        rc = vdm_scmi_send_p2a(&S.scmi, msg, len);
        FZ_CHECK(rc == 0 || rc == VDM_EAGAIN || rc == VDM_ESTATE ||
                     rc == VDM_ENOTSUP || rc == VDM_EINVAL,
                 "send_p2a %d", rc);
        FZ_CHECK(rc != VDM_EINVAL || len < 4 || len > VDM_SCMI_MSG_MAX,
                 "send_p2a refused len %u", len);
        FZ_CHECK(rc != 0 || S.p2a, "p2a sent without the feature");
        break;
    }
    }
}

static void scmi_complete_all(void)
{
    S.mode = 0;
    while (S.npend > 0)
        complete_one(0, 12);
}

static void scmi_finish(void)
{
    FZ_CHECK(vdm_scmi_in_flight(&S.scmi) == 0, "command left in flight");
}

const struct fuzz_dev_plugin fuzz_dev_scmi = {
    .name = "scmi",
    .create = scmi_create,
    .request = scmi_request,
    .check_used = scmi_check_used,
    .host = scmi_host,
    .complete_all = scmi_complete_all,
    .finish = scmi_finish,
};
