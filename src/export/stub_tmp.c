#include <errno.h>
#include "export.h"
int hs_export_html(FILE *out, const struct hs_report *r) { return -ENOSYS; }
