/* SPDX-License-Identifier: BSD-3-Clause */
/* The library profile a suite is built for (vdm/config.h): a test case that
 * needs a ring feature the build left out is skipped, explicitly and
 * visibly, never silently. */
#ifndef VDM_TEST_PROFILE_H
#define VDM_TEST_PROFILE_H

#include <stdint.h>

#include "vdm/common.h"
#include "vdm/config.h"

/* The ring features the profile may leave out (vdm/config.h). */
#define UT_RING_OPTIONAL                                                       \
    (VDM_F_INDIRECT_DESC | VDM_F_EVENT_IDX | VDM_F_RING_PACKED |               \
     VDM_F_IN_ORDER | VDM_F_RING_RESET | VDM_F_NOTIFICATION_DATA)

/* Does this build have every profile feature in @p need? Other bits of
 * @p need are not profile options and count as present. */
static inline int ut_have(uint64_t need)
{
    return (need & UT_RING_OPTIONAL & ~VDM_F_RING_ALL) == 0;
}

/* When the build lacks a profile feature of @p need, print
 * "SKIP: <what>: needs <features> (left out of this build, vdm/config.h)"
 * to stderr and end the test case (it counts as run: Check has no skip
 * state; scripts/test.d/profiles lists and counts the SKIP lines). Only in
 * a forked Check test case (the default). */
void ut_need(uint64_t need, const char *what);

/* At the top of a test case: skip it unless the build has @p need. */
#define UT_NEEDS(need) ut_need((need), __func__)

/* The same for a compile-time option that is not a ring feature
 * (vdm/config.h VDM_CONFIG_MEM_HOOKS, VDM_CONFIG_BLK_DISCARD): when
 * @p built is 0, print "SKIP: <what>: needs <option> (left out of this
 * build, vdm/config.h)" and end the test case. */
void ut_need_option(int built, const char *option, const char *what);

/* At the top of a test case: skip it unless option @p opt is built in. */
#define UT_NEEDS_OPTION(opt) ut_need_option((opt), #opt, __func__)

/* Are log messages of @p level built in (vdm/config.h VDM_CONFIG_LOG_LEVEL)? */
#define UT_LOG_ON(level) ((level) <= VDM_CONFIG_LOG_LEVEL)

/* An assertion on the messages of @p level a case counted: made where the
 * level is built in; where it is left out no message of it reaches the
 * hooks (test_device's log_level_follows_config checks that), and the
 * case's other assertions still run. */
#define UT_IF_LOG(level, assertion)                                            \
    do {                                                                       \
        if (UT_LOG_ON(level)) {                                                \
            assertion;                                                         \
        }                                                                      \
    } while (0)

#endif
