/* The public header on its own, as strict C11; and the version check at run time. */
#include <igd/igd.h>
#include <stdio.h>

int main(void)
{
    if (IGD_CHECK_VERSION() != IGD_OK) {
        fprintf(stderr, "%s\n", igd_last_error());
        return 1;
    }
    return igd_version_number() == IGD_VERSION_NUMBER ? 0 : 1;
}
