/* Export control of libigd's public symbols. */
#ifndef IGD_EXPORT_H
#define IGD_EXPORT_H

#if defined(IGD_BUILDING_LIBRARY) && (defined(__GNUC__) || defined(__clang__))
#define IGD_API __attribute__((visibility("default")))
#else
#define IGD_API
#endif

#endif /* IGD_EXPORT_H */
