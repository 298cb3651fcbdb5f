// The embedded default subject: the phantom (seed 1, size small) and its preparation at 64 px,
// which the shipped model was trained on. Made once, on first start, in the user's data dir.
#pragma once

#include "soul/progress.h"

#include <string>

namespace soul {

constexpr int kDefaultSubjectImageSize = 64;   // the shipped model's --image-size (its model card)

struct DefaultSubject {
    std::string phantom;    // $SOUL_PHANTOM_DIR, else <user data dir>/phantom
    std::string prepared;   // $SOUL_PREPARED_DIR, else <phantom>-prepared-64
};

DefaultSubject default_subject();

// The phantom is complete when its stimulus file (written last) is there; the preparation when its
// manifest is.
bool phantom_complete(const std::string& phantom_dir);
bool prepared_complete(const std::string& prepared_dir);

// Makes what is missing: the phantom into <phantom>.partial, renamed into place when complete,
// then the preparation (which works in <prepared>.partial itself). A cancelled or failed run
// removes its .partial folder, so nothing half-written is left. Throws soul::Error naming the
// folder that cannot be written (and how to choose another) or the Debian package that is
// missing; soul::Cancelled when progress.cancel is set.
void make_default_subject(const DefaultSubject& subject, const Progress& progress = {});

}  // namespace soul
