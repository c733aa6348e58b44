/* SPDX-License-Identifier: BSD-3-Clause */
/* Version and error names. */
#include "vdm/common.h"

#define VDM_STR2(x) #x
#define VDM_STR(x)  VDM_STR2(x)

uint32_t vdm_version(void)
{
    return ((uint32_t)VDM_VERSION_MAJOR << 16) |
           ((uint32_t)VDM_VERSION_MINOR << 8) | (uint32_t)VDM_VERSION_PATCH;
}

const char *vdm_version_string(void)
{
    return VDM_STR(VDM_VERSION_MAJOR) "." VDM_STR(
        VDM_VERSION_MINOR) "." VDM_STR(VDM_VERSION_PATCH);
}

const char *vdm_strerror(int err)
{
    switch (err) {
    case VDM_OK: return "success";
    case VDM_EINVAL: return "invalid argument";
    case VDM_ENOSPC: return "caller array too small";
    case VDM_EFAULT: return "guest address not mapped";
    case VDM_EPROTO: return "guest protocol violation";
    case VDM_EBROKEN: return "broken, needs reset";
    case VDM_ENOTSUP: return "not supported";
    case VDM_ESTATE: return "not allowed in this state";
    case VDM_ERANGE: return "index out of range";
    case VDM_EAGAIN: return "try again";
    case VDM_EIO: return "host I/O error";
    case VDM_EBUSY: return "busy";
    case VDM_ENOENT: return "no such object";
    case VDM_ESIZE: return "struct size field invalid";
    default: return "unknown error";
    }
}
