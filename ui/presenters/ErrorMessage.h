// What a worker thread shows when its job throws: every exception becomes a message on screen,
// never the end of the studio. Call inside a catch block.
#pragma once

#include <QString>

namespace soului {

// The message of the exception being handled: soul::Error's text as it is; anything else (a
// library's exception, an allocation that failed) said to be unexpected, with its text.
QString currentErrorMessage();

}  // namespace soului
