/*
 * processprng.c: a stand-in for Windows' bcryptprimitives.dll, for Wine.
 *
 * Rust's standard library (1.78 and later) fills its random seeds (the
 * hash maps' keys) with ProcessPrng from bcryptprimitives.dll, which Wine 8
 * does not provide: a test binary then fails to load (exit status 53, no
 * output). This DLL exports ProcessPrng and fills the buffer with
 * RtlGenRandom (advapi32's SystemFunction036), which Wine has.
 *
 * Built by .ci/wine-setup.sh with the mingw compiler and copied into the
 * Wine prefix's system32; it is never part of the library or of a program
 * that runs on real Windows, where the real DLL exists.
 */
#include <windows.h>

/* advapi32's RtlGenRandom, exported under this name. */
BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

/* BOOL ProcessPrng(PBYTE pbData, SIZE_T cbData): always succeeds on
 * Windows; here it reports a failure of RtlGenRandom as FALSE. */
__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len)
{
    while (len > 0) {
        /* RtlGenRandom takes a ULONG length: fill in chunks. */
        ULONG chunk = len > 0x40000000 ? 0x40000000 : (ULONG)len;
        if (!SystemFunction036(data, chunk))
            return FALSE;
        data += chunk;
        len -= chunk;
    }
    return TRUE;
}
