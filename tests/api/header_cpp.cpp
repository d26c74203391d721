// The public header compiled as C++: extern "C", no C-only constructs.
#include <igd/igd.h>

int main()
{
    igd_options *options = nullptr;
    if (igd_options_create(&options) != IGD_OK)
        return 1;
    igd_options_free(options);
    return igd_check_version(IGD_ABI_VERSION) == IGD_OK ? 0 : 1;
}
