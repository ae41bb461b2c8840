// OpenBLAS's CBLAS interface (Debian: libopenblas-dev puts cblas.h under the openblas include dir
// that pkg-config reports).
#include <cblas.h>
