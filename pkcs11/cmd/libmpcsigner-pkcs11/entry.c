// C entry points of libmpcsigner-pkcs11: the function lists, the interfaces, and one wrapper
// per PKCS#11 function. Each wrapper checks, in C and before any call into Go, that the
// process is the one that loaded the library (the Go runtime does not survive fork: a child
// that entered Go could hang) and that C_Initialize succeeded; only then does it call the Go
// implementation.
#include <sys/types.h>
#include <unistd.h>
#include <string.h>
#include "_cgo_export.h"

static pid_t mpc_load_pid;
static int mpc_initialized;

__attribute__((constructor)) static void mpc_record_load_pid(void) { mpc_load_pid = getpid(); }

// mpc_forked: the caller is a child of the process that loaded the library (the Go runtime
// started at load time, so even an uninitialized library must not enter Go there).
static int mpc_forked(void) { return getpid() != mpc_load_pid; }

static int mpc_blocked(void) {
	return mpc_forked() || !__atomic_load_n(&mpc_initialized, __ATOMIC_ACQUIRE);
}

#define GUARDED(call) (mpc_blocked() ? CKR_CRYPTOKI_NOT_INITIALIZED : (CK_RV)(call))
#define REFUSE(rv) (mpc_blocked() ? CKR_CRYPTOKI_NOT_INITIALIZED : (CK_RV)(rv))
#define NOT_SUPPORTED(...) REFUSE(CKR_FUNCTION_NOT_SUPPORTED)

static CK_RV mpc_initialize(CK_VOID_PTR args);
static CK_RV mpc_finalize(CK_VOID_PTR reserved);
static CK_RV mpc_get_function_list(CK_FUNCTION_LIST_PTR_PTR pp);
static CK_RV mpc_get_interface_list(CK_INTERFACE_PTR list, CK_ULONG_PTR count);
static CK_RV mpc_get_interface(CK_UTF8CHAR_PTR name, CK_VERSION_PTR version, CK_INTERFACE_PTR_PTR pp, CK_FLAGS flags);

// What each function does: a Go implementation, a C special case, or CKR_FUNCTION_NOT_SUPPORTED.
#define mpc_impl_C_Initialize(a) mpc_initialize(a)
#define mpc_impl_C_Finalize(a) mpc_finalize(a)
#define mpc_impl_C_GetInfo(...) GUARDED(goGetInfo(__VA_ARGS__))
#define mpc_impl_C_GetFunctionList(a) mpc_get_function_list(a)
#define mpc_impl_C_GetSlotList(...) GUARDED(goGetSlotList(__VA_ARGS__))
#define mpc_impl_C_GetSlotInfo(...) GUARDED(goGetSlotInfo(__VA_ARGS__))
#define mpc_impl_C_GetTokenInfo(...) GUARDED(goGetTokenInfo(__VA_ARGS__))
#define mpc_impl_C_GetMechanismList(...) GUARDED(goGetMechanismList(__VA_ARGS__))
#define mpc_impl_C_GetMechanismInfo(...) GUARDED(goGetMechanismInfo(__VA_ARGS__))
#define mpc_impl_C_InitToken NOT_SUPPORTED
#define mpc_impl_C_InitPIN NOT_SUPPORTED
#define mpc_impl_C_SetPIN NOT_SUPPORTED
#define mpc_impl_C_OpenSession(slot, flags, app, notify, ph) GUARDED(goOpenSession(slot, flags, ph))
#define mpc_impl_C_CloseSession(...) GUARDED(goCloseSession(__VA_ARGS__))
#define mpc_impl_C_CloseAllSessions(...) GUARDED(goCloseAllSessions(__VA_ARGS__))
#define mpc_impl_C_GetSessionInfo(...) GUARDED(goGetSessionInfo(__VA_ARGS__))
#define mpc_impl_C_GetOperationState NOT_SUPPORTED
#define mpc_impl_C_SetOperationState NOT_SUPPORTED
#define mpc_impl_C_Login(...) GUARDED(goLogin(__VA_ARGS__))
#define mpc_impl_C_Logout(...) GUARDED(goLogout(__VA_ARGS__))
#define mpc_impl_C_CreateObject NOT_SUPPORTED
#define mpc_impl_C_CopyObject NOT_SUPPORTED
#define mpc_impl_C_DestroyObject(...) GUARDED(goDestroyObject(__VA_ARGS__))
#define mpc_impl_C_GetObjectSize NOT_SUPPORTED
#define mpc_impl_C_GetAttributeValue(...) GUARDED(goGetAttributeValue(__VA_ARGS__))
#define mpc_impl_C_SetAttributeValue(...) GUARDED(goSetAttributeValue(__VA_ARGS__))
#define mpc_impl_C_FindObjectsInit(...) GUARDED(goFindObjectsInit(__VA_ARGS__))
#define mpc_impl_C_FindObjects(...) GUARDED(goFindObjects(__VA_ARGS__))
#define mpc_impl_C_FindObjectsFinal(...) GUARDED(goFindObjectsFinal(__VA_ARGS__))
#define mpc_impl_C_EncryptInit NOT_SUPPORTED
#define mpc_impl_C_Encrypt NOT_SUPPORTED
#define mpc_impl_C_EncryptUpdate NOT_SUPPORTED
#define mpc_impl_C_EncryptFinal NOT_SUPPORTED
#define mpc_impl_C_DecryptInit NOT_SUPPORTED
#define mpc_impl_C_Decrypt NOT_SUPPORTED
#define mpc_impl_C_DecryptUpdate NOT_SUPPORTED
#define mpc_impl_C_DecryptFinal NOT_SUPPORTED
#define mpc_impl_C_DigestInit NOT_SUPPORTED
#define mpc_impl_C_Digest NOT_SUPPORTED
#define mpc_impl_C_DigestUpdate NOT_SUPPORTED
#define mpc_impl_C_DigestKey NOT_SUPPORTED
#define mpc_impl_C_DigestFinal NOT_SUPPORTED
#define mpc_impl_C_SignInit(...) GUARDED(goSignInit(__VA_ARGS__))
#define mpc_impl_C_Sign(...) GUARDED(goSign(__VA_ARGS__))
#define mpc_impl_C_SignUpdate(...) GUARDED(goSignUpdate(__VA_ARGS__))
#define mpc_impl_C_SignFinal(...) GUARDED(goSignFinal(__VA_ARGS__))
#define mpc_impl_C_SignRecoverInit NOT_SUPPORTED
#define mpc_impl_C_SignRecover NOT_SUPPORTED
#define mpc_impl_C_VerifyInit(...) GUARDED(goVerifyInit(__VA_ARGS__))
#define mpc_impl_C_Verify(...) GUARDED(goVerify(__VA_ARGS__))
#define mpc_impl_C_VerifyUpdate(...) GUARDED(goVerifyUpdate(__VA_ARGS__))
#define mpc_impl_C_VerifyFinal(...) GUARDED(goVerifyFinal(__VA_ARGS__))
#define mpc_impl_C_VerifyRecoverInit NOT_SUPPORTED
#define mpc_impl_C_VerifyRecover NOT_SUPPORTED
#define mpc_impl_C_DigestEncryptUpdate NOT_SUPPORTED
#define mpc_impl_C_DecryptDigestUpdate NOT_SUPPORTED
#define mpc_impl_C_SignEncryptUpdate NOT_SUPPORTED
#define mpc_impl_C_DecryptVerifyUpdate NOT_SUPPORTED
#define mpc_impl_C_GenerateKey NOT_SUPPORTED
#define mpc_impl_C_GenerateKeyPair(...) GUARDED(goGenerateKeyPair(__VA_ARGS__))
#define mpc_impl_C_WrapKey NOT_SUPPORTED
#define mpc_impl_C_UnwrapKey NOT_SUPPORTED
#define mpc_impl_C_DeriveKey NOT_SUPPORTED
#define mpc_impl_C_SeedRandom(...) REFUSE(0x120UL) /* CKR_RANDOM_SEED_NOT_SUPPORTED */
#define mpc_impl_C_GenerateRandom(...) GUARDED(goGenerateRandom(__VA_ARGS__))
#define mpc_impl_C_GetFunctionStatus(...) REFUSE(CKR_FUNCTION_NOT_PARALLEL)
#define mpc_impl_C_CancelFunction(...) REFUSE(CKR_FUNCTION_NOT_PARALLEL)
#define mpc_impl_C_WaitForSlotEvent NOT_SUPPORTED
#define mpc_impl_C_GetInterfaceList(...) mpc_get_interface_list(__VA_ARGS__)
#define mpc_impl_C_GetInterface(...) mpc_get_interface(__VA_ARGS__)
#define mpc_impl_C_LoginUser NOT_SUPPORTED
#define mpc_impl_C_SessionCancel NOT_SUPPORTED
#define mpc_impl_C_MessageEncryptInit NOT_SUPPORTED
#define mpc_impl_C_EncryptMessage NOT_SUPPORTED
#define mpc_impl_C_EncryptMessageBegin NOT_SUPPORTED
#define mpc_impl_C_EncryptMessageNext NOT_SUPPORTED
#define mpc_impl_C_MessageEncryptFinal NOT_SUPPORTED
#define mpc_impl_C_MessageDecryptInit NOT_SUPPORTED
#define mpc_impl_C_DecryptMessage NOT_SUPPORTED
#define mpc_impl_C_DecryptMessageBegin NOT_SUPPORTED
#define mpc_impl_C_DecryptMessageNext NOT_SUPPORTED
#define mpc_impl_C_MessageDecryptFinal NOT_SUPPORTED
#define mpc_impl_C_MessageSignInit NOT_SUPPORTED
#define mpc_impl_C_SignMessage NOT_SUPPORTED
#define mpc_impl_C_SignMessageBegin NOT_SUPPORTED
#define mpc_impl_C_SignMessageNext NOT_SUPPORTED
#define mpc_impl_C_MessageSignFinal NOT_SUPPORTED
#define mpc_impl_C_MessageVerifyInit NOT_SUPPORTED
#define mpc_impl_C_VerifyMessage NOT_SUPPORTED
#define mpc_impl_C_VerifyMessageBegin NOT_SUPPORTED
#define mpc_impl_C_VerifyMessageNext NOT_SUPPORTED
#define mpc_impl_C_MessageVerifyFinal NOT_SUPPORTED

#define MPC_WRAPPER(name, params, args) CK_RV name params { return mpc_impl_##name args; }
MPC_FUNCTIONS_2_40(MPC_WRAPPER)
MPC_FUNCTIONS_3_0(MPC_WRAPPER)

#define MPC_POINTER(name, params, args) name,
static CK_FUNCTION_LIST mpc_functions = {{2, 40}, MPC_FUNCTIONS_2_40(MPC_POINTER)};
static CK_FUNCTION_LIST_3_0 mpc_functions_3_0 = {{3, 0}, MPC_FUNCTIONS_2_40(MPC_POINTER) MPC_FUNCTIONS_3_0(MPC_POINTER)};

static CK_CHAR mpc_interface_name[] = "PKCS 11";
// Not CKF_INTERFACE_FORK_SAFE: a forked child gets errors, not a working library.
static CK_INTERFACE mpc_interfaces[] = {
	{mpc_interface_name, &mpc_functions_3_0, 0},
	{mpc_interface_name, &mpc_functions, 0},
};
#define MPC_NUM_INTERFACES (sizeof mpc_interfaces / sizeof mpc_interfaces[0])

static CK_RV mpc_initialize(CK_VOID_PTR args) {
	if (mpc_forked())
		return CKR_GENERAL_ERROR; // this process cannot run the library: exec a new one
	CK_RV rv = goInitialize(args);
	if (rv == CKR_OK)
		__atomic_store_n(&mpc_initialized, 1, __ATOMIC_RELEASE);
	return rv;
}

static CK_RV mpc_finalize(CK_VOID_PTR reserved) {
	if (mpc_blocked())
		return CKR_CRYPTOKI_NOT_INITIALIZED;
	CK_RV rv = goFinalize(reserved);
	if (rv == CKR_OK)
		__atomic_store_n(&mpc_initialized, 0, __ATOMIC_RELEASE);
	return rv;
}

static CK_RV mpc_get_function_list(CK_FUNCTION_LIST_PTR_PTR pp) {
	if (pp == NULL_PTR)
		return CKR_ARGUMENTS_BAD;
	*pp = &mpc_functions;
	return CKR_OK;
}

static CK_RV mpc_get_interface_list(CK_INTERFACE_PTR list, CK_ULONG_PTR count) {
	if (count == NULL_PTR)
		return CKR_ARGUMENTS_BAD;
	if (list == NULL_PTR) {
		*count = MPC_NUM_INTERFACES;
		return CKR_OK;
	}
	if (*count < MPC_NUM_INTERFACES) {
		*count = MPC_NUM_INTERFACES;
		return CKR_BUFFER_TOO_SMALL;
	}
	memcpy(list, mpc_interfaces, sizeof mpc_interfaces);
	*count = MPC_NUM_INTERFACES;
	return CKR_OK;
}

static CK_RV mpc_get_interface(CK_UTF8CHAR_PTR name, CK_VERSION_PTR version, CK_INTERFACE_PTR_PTR pp, CK_FLAGS flags) {
	if (pp == NULL_PTR)
		return CKR_ARGUMENTS_BAD;
	for (unsigned i = 0; i < MPC_NUM_INTERFACES; i++) {
		CK_INTERFACE *itf = &mpc_interfaces[i];
		CK_VERSION *v = (CK_VERSION *)itf->pFunctionList; // version is each list's first member
		if (name != NULL_PTR && strcmp((const char *)name, (const char *)itf->pInterfaceName) != 0)
			continue;
		if (version != NULL_PTR && (version->major != v->major || version->minor != v->minor))
			continue;
		if ((flags & itf->flags) != flags)
			continue;
		*pp = itf;
		return CKR_OK;
	}
	return CKR_ARGUMENTS_BAD;
}
