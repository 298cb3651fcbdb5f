#include "ErrorMessage.h"

#include "soul/error.h"

#include <QObject>

#include <exception>
#include <new>

namespace soului {

QString currentErrorMessage() {
    try {
        throw;
    } catch (const soul::Error& e) {
        return QString::fromStdString(e.what());
    } catch (const std::bad_alloc&) {
        return QObject::tr("out of memory");
    } catch (const std::exception& e) {
        return QObject::tr("unexpected error (please report it): %1").arg(QString::fromStdString(e.what()));
    } catch (...) {
        return QObject::tr("unexpected error (please report it): an unknown exception");
    }
}

}  // namespace soului
