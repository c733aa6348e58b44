/* SPDX-License-Identifier: BSD-3-Clause */
#include "profile.h"

#include <stdio.h>
#include <stdlib.h>

void ut_need(uint64_t need, const char *what)
{
    static const struct {
        uint64_t bit;
        const char *name;
    } names[] = {
        {VDM_F_RING_PACKED, "PACKED"},
        {VDM_F_INDIRECT_DESC, "INDIRECT"},
        {VDM_F_EVENT_IDX, "EVENT_IDX"},
        {VDM_F_IN_ORDER, "IN_ORDER"},
        {VDM_F_NOTIFICATION_DATA, "NOTIFICATION_DATA"},
        {VDM_F_RING_RESET, "RING_RESET"},
    };
    uint64_t missing = need & UT_RING_OPTIONAL & ~VDM_F_RING_ALL;
    size_t i;

    if (missing == 0)
        return;
    fprintf(stderr, "SKIP: %s: needs", what);
    for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if ((missing & names[i].bit) != 0)
            fprintf(stderr, " VDM_CONFIG_%s", names[i].name);
    fprintf(stderr, " (left out of this build, vdm/config.h)\n");
    fflush(stderr);
    exit(0); /* the forked test case ends here */
}

void ut_need_option(int built, const char *option, const char *what)
{
    if (built != 0)
        return;
    fprintf(stderr,
            "SKIP: %s: needs %s (left out of this build, vdm/config.h)\n", what,
            option);
    fflush(stderr);
    exit(0); /* the forked test case ends here */
}
