// A tiny PKCS#11 client for the module's tests: dlopen, call, print results. Exit 0 on
// success; each failed check prints "FAIL <line>" and exits 1.
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "mpcsigner_pkcs11.h"

#define CHECK(cond) do { if (!(cond)) { printf("FAIL line %d\n", __LINE__); exit(1); } } while (0)
#define RV(call, want) do { CK_RV r_ = (call); if (r_ != (CK_RV)(want)) { printf("FAIL line %d: rv 0x%lx want 0x%lx\n", __LINE__, r_, (CK_RV)(want)); exit(1); } } while (0)

static CK_FUNCTION_LIST_PTR f;

static void hex(const char *tag, CK_BYTE *b, CK_ULONG n) {
	printf("%s ", tag);
	for (CK_ULONG i = 0; i < n; i++) printf("%02x", b[i]);
	printf("\n");
}

static CK_RV dummy_mutex(CK_VOID_PTR p) { (void)p; return CKR_OK; }
static CK_RV dummy_create(CK_VOID_PTR_PTR p) { (void)p; return CKR_OK; }

int main(int argc, char **argv) {
	void *lib = dlopen(argv[1], RTLD_NOW);
	CHECK(lib != NULL);
	CK_RV (*gfl)(CK_FUNCTION_LIST_PTR_PTR) = dlsym(lib, "C_GetFunctionList");
	CK_RV (*gi)(CK_UTF8CHAR_PTR, CK_VERSION_PTR, CK_INTERFACE_PTR_PTR, CK_FLAGS) = dlsym(lib, "C_GetInterface");
	CK_RV (*gil)(CK_INTERFACE_PTR, CK_ULONG_PTR) = dlsym(lib, "C_GetInterfaceList");
	CHECK(gfl && gi && gil && dlsym(lib, "goSign") == NULL);
	RV(gfl(NULL), CKR_ARGUMENTS_BAD);
	RV(gfl(&f), CKR_OK);
	CHECK(f->version.major == 2 && f->version.minor == 40);
	CK_ULONG n = 0;
	RV(gil(NULL, &n), CKR_OK);
	CHECK(n == 2);
	CK_INTERFACE_PTR itf;
	CK_VERSION v30 = {3, 0};
	RV(gi((CK_UTF8CHAR_PTR) "PKCS 11", &v30, &itf, 0), CKR_OK);
	CK_FUNCTION_LIST_3_0_PTR f3 = itf->pFunctionList;
	CHECK(f3->version.major == 3 && f3->C_Sign == f->C_Sign);
	RV(f3->C_SignMessage(0, NULL, 0, NULL, 0, NULL, NULL), CKR_CRYPTOKI_NOT_INITIALIZED);

	// Before C_Initialize.
	CK_INFO info;
	RV(f->C_GetInfo(&info), CKR_CRYPTOKI_NOT_INITIALIZED);
	RV(f->C_Finalize(NULL), CKR_CRYPTOKI_NOT_INITIALIZED);
	RV(f->C_GetSlotList(CK_FALSE, NULL, &n), CKR_CRYPTOKI_NOT_INITIALIZED);
	// Argument checks.
	CK_C_INITIALIZE_ARGS a = {0};
	a.pReserved = &a;
	RV(f->C_Initialize(&a), CKR_ARGUMENTS_BAD);
	a.pReserved = NULL;
	a.LockMutex = dummy_mutex;
	RV(f->C_Initialize(&a), CKR_ARGUMENTS_BAD);
	a.CreateMutex = dummy_create; a.DestroyMutex = dummy_mutex; a.UnlockMutex = dummy_mutex;
	a.flags = CKF_OS_LOCKING_OK;
	// Init/finalize cycles.
	for (int i = 0; i < 3; i++) {
		RV(f->C_Initialize(i == 0 ? &a : NULL), CKR_OK);
		RV(f->C_Initialize(NULL), CKR_CRYPTOKI_ALREADY_INITIALIZED);
		RV(f->C_GetInfo(&info), CKR_OK);
		RV(f->C_Finalize(&a), CKR_ARGUMENTS_BAD);
		RV(f->C_Finalize(NULL), CKR_OK);
	}
	RV(f->C_Initialize(NULL), CKR_OK);
	RV(f->C_GetInfo(NULL), CKR_ARGUMENTS_BAD);
	RV(f->C_GetInfo(&info), CKR_OK);
	CHECK(info.cryptokiVersion.major == 3 && memcmp(info.manufacturerID, "mpcsigner ", 10) == 0);
	RV(f->C_GetSlotList(CK_TRUE, NULL, NULL), CKR_ARGUMENTS_BAD);
	RV(f->C_GetSlotList(CK_TRUE, NULL, &n), CKR_OK);
	CHECK(n == 2);
	CK_SLOT_ID slots[2];
	n = 1;
	RV(f->C_GetSlotList(CK_TRUE, slots, &n), CKR_BUFFER_TOO_SMALL);
	RV(f->C_GetSlotList(CK_TRUE, slots, &n), CKR_OK);
	CK_TOKEN_INFO ti;
	RV(f->C_GetTokenInfo(0, &ti), CKR_OK);
	CHECK(memcmp(ti.label, "mpcsigner ECDSA ", 16) == 0 && (ti.flags & 0x40D) == 0x40D);
	RV(f->C_GetTokenInfo(9, &ti), 0x3 /* CKR_SLOT_ID_INVALID */);
	CK_MECHANISM_TYPE mechs[8];
	n = 8;
	RV(f->C_GetMechanismList(0, mechs, &n), CKR_OK);
	CHECK(n == 3);
	CK_MECHANISM_INFO mi;
	RV(f->C_GetMechanismInfo(0, 0x1041, &mi), CKR_OK);
	CHECK(mi.flags & 0x800);

	CK_SESSION_HANDLE s;
	RV(f->C_OpenSession(0, 0, NULL, NULL, &s), 0xB4 /* CKR_SESSION_PARALLEL_NOT_SUPPORTED */);
	RV(f->C_OpenSession(0, 4, NULL, NULL, NULL), CKR_ARGUMENTS_BAD);
	RV(f->C_OpenSession(0, 4 | 2, NULL, NULL, &s), CKR_OK);
	RV(f->C_Login(s, 1, (CK_UTF8CHAR_PTR) "nope", 4), 0xA0 /* CKR_PIN_INCORRECT */);
	RV(f->C_Login(s, 1, NULL, 4), CKR_ARGUMENTS_BAD);
	RV(f->C_Login(s, 1, (CK_UTF8CHAR_PTR) argv[2], strlen(argv[2])), CKR_OK);

	// Find the secp256k1 private key by class and label.
	CK_ULONG cls = 3;
	CK_ATTRIBUTE tmpl[] = {{0x0, &cls, sizeof cls}, {0x3, "btc-hot", 7}};
	RV(f->C_FindObjectsInit(s, NULL, 2), CKR_ARGUMENTS_BAD);
	RV(f->C_FindObjectsInit(s, tmpl, 2), CKR_OK);
	CK_OBJECT_HANDLE objs[4];
	RV(f->C_FindObjects(s, objs, 4, NULL), CKR_ARGUMENTS_BAD);
	RV(f->C_FindObjects(s, objs, 4, &n), CKR_OK);
	CHECK(n == 1);
	RV(f->C_FindObjectsFinal(s), CKR_OK);
	CK_OBJECT_HANDLE priv = objs[0];
	CK_ULONG cert = 1;
	CK_ATTRIBUTE ct[] = {{0x0, &cert, sizeof cert}};
	RV(f->C_FindObjectsInit(s, ct, 1), CKR_OK);
	RV(f->C_FindObjects(s, objs, 4, &n), CKR_OK);
	CHECK(n == 0);
	RV(f->C_FindObjectsFinal(s), CKR_OK);

	// Attributes: length query, sensitive CKA_VALUE, EC point of the public key.
	CK_ATTRIBUTE q[] = {{0x3, NULL, 0}, {0x11, NULL, 0}};
	RV(f->C_GetAttributeValue(s, priv, q, 2), 0x11 /* CKR_ATTRIBUTE_SENSITIVE */);
	CHECK(q[0].ulValueLen == 7 && q[1].ulValueLen == CK_UNAVAILABLE_INFORMATION);
	RV(f->C_GetAttributeValue(s, priv, NULL, 1), CKR_ARGUMENTS_BAD);
	CK_BYTE point[80];
	CK_ATTRIBUTE pq[] = {{0x181, point, 2}};
	RV(f->C_GetAttributeValue(s, priv - 1, pq, 1), CKR_BUFFER_TOO_SMALL);
	pq[0].ulValueLen = sizeof point;
	RV(f->C_GetAttributeValue(s, priv - 1, pq, 1), CKR_OK);
	hex("POINT", point, pq[0].ulValueLen);

	// Sign: length query, too small (operation stays), then the signature.
	CK_MECHANISM m = {0x1044, NULL, 0};
	RV(f->C_SignInit(s, NULL, priv), CKR_ARGUMENTS_BAD);
	RV(f->C_SignInit(s, &m, priv), CKR_OK);
	CK_BYTE msg[] = "pay 1 BTC";
	CK_BYTE sig[64];
	CK_ULONG sl = 0;
	RV(f->C_Sign(s, msg, 9, NULL, NULL), CKR_ARGUMENTS_BAD);
	RV(f->C_Sign(s, msg, 9, NULL, &sl), CKR_OK);
	CHECK(sl == 64);
	sl = 10;
	RV(f->C_Sign(s, msg, 9, sig, &sl), CKR_BUFFER_TOO_SMALL);
	CHECK(sl == 64);
	printf("QUERIES-DONE\n");
	fflush(stdout);
	getchar(); // the test checks that no sign request reached the host so far
	RV(f->C_Sign(s, msg, 9, sig, &sl), CKR_OK);
	CHECK(sl == 64);
	hex("SIG", sig, sl);
	RV(f->C_Sign(s, msg, 9, sig, &sl), 0x91 /* CKR_OPERATION_NOT_INITIALIZED */);
	RV(f->C_VerifyInit(s, &m, priv - 1), CKR_OK);
	RV(f->C_Verify(s, msg, 9, sig, 64), CKR_OK);

	// Ed25519 in slot 1: its objects, CK_EDDSA_PARAMS as the C compiler lays it out, a length
	// query that must not reach the host, and a multi-part signature of the whole message.
	CK_SESSION_HANDLE s1;
	RV(f->C_OpenSession(1, 4, NULL, NULL, &s1), CKR_OK);
	n = 8;
	RV(f->C_GetMechanismList(1, mechs, &n), CKR_OK);
	CHECK(n == 1 && mechs[0] == 0x1057 /* CKM_EDDSA */);
	RV(f->C_GetMechanismInfo(1, 0x1057, &mi), CKR_OK);
	CHECK((mi.flags & 0x2800) == 0x2800 && mi.ulMinKeySize == 256 && mi.ulMaxKeySize == 256);
	CK_ATTRIBUTE et[] = {{0x0, &cls, sizeof cls}, {0x3, "sol-hot", 7}};
	RV(f->C_FindObjectsInit(s1, et, 2), CKR_OK);
	RV(f->C_FindObjects(s1, objs, 4, &n), CKR_OK);
	CHECK(n == 1);
	RV(f->C_FindObjectsFinal(s1), CKR_OK);
	CK_OBJECT_HANDLE edpriv = objs[0];
	CK_BYTE epoint[40], eparams[16];
	CK_ULONG kt = 0;
	CK_ATTRIBUTE eq[] = {{0x181, epoint, sizeof epoint}, {0x180, eparams, sizeof eparams}, {0x100, &kt, sizeof kt}};
	RV(f->C_GetAttributeValue(s1, edpriv - 1, eq, 3), CKR_OK);
	CHECK(kt == 0x40 /* CKK_EC_EDWARDS */);
	hex("EDPOINT", epoint, eq[0].ulValueLen);
	hex("EDPARAMS", eparams, eq[1].ulValueLen);
	RV(f->C_GetAttributeValue(s, edpriv - 1, eq, 1), 0x82 /* CKR_OBJECT_HANDLE_INVALID: not in slot 0 */);
	CK_EDDSA_PARAMS prehash = {CK_TRUE, 0, NULL};
	CK_MECHANISM em = {0x1057, &prehash, sizeof prehash};
	RV(f->C_SignInit(s1, &em, edpriv), 0x71 /* CKR_MECHANISM_PARAM_INVALID */);
	CK_BYTE context[] = "ctx";
	CK_EDDSA_PARAMS withctx = {CK_FALSE, 3, context};
	em.pParameter = &withctx;
	RV(f->C_SignInit(s1, &em, edpriv), 0x71 /* CKR_MECHANISM_PARAM_INVALID */);
	CK_EDDSA_PARAMS pure = {CK_FALSE, 0, NULL};
	em.pParameter = &pure;
	RV(f->C_SignInit(s1, &em, edpriv), CKR_OK);
	CK_BYTE part1[] = "pay 1 SOL ", part2[] = "to cold";
	RV(f->C_SignUpdate(s1, part1, 10), CKR_OK);
	RV(f->C_SignUpdate(s1, part2, 7), CKR_OK);
	sl = 0;
	RV(f->C_SignFinal(s1, NULL, &sl), CKR_OK);
	CHECK(sl == 64);
	printf("EDDSA-QUERIES-DONE\n");
	fflush(stdout);
	getchar(); // the test checks that the length query did not reach the host
	RV(f->C_SignFinal(s1, sig, &sl), CKR_OK);
	CHECK(sl == 64);
	hex("EDSIG", sig, sl);
	CK_MECHANISM plain = {0x1057, NULL, 0};
	RV(f->C_VerifyInit(s1, &plain, edpriv - 1), CKR_OK);
	RV(f->C_Verify(s1, (CK_BYTE_PTR) "pay 1 SOL to cold", 17, sig, 64), CKR_OK);
	RV(f->C_CloseSession(s1), CKR_OK);
	RV(f->C_WrapKey(s, &m, 0, priv, NULL, &n), CKR_FUNCTION_NOT_SUPPORTED);
	// More than the host gives per call (4096 bytes): the module asks several times.
	static CK_BYTE rnd[5000];
	RV(f->C_GenerateRandom(s, rnd, sizeof rnd), CKR_OK);
	hex("RANDOM", rnd, sizeof rnd);
	RV(f->C_SeedRandom(s, rnd, 16), 0x120 /* CKR_RANDOM_SEED_NOT_SUPPORTED */);

	// Fork: the child gets an error from C, without entering Go, and does not hang.
	pid_t pid = fork();
	if (pid == 0) {
		alarm(10);
		CK_RV r1 = f->C_GetInfo(&info);
		CK_RV r2 = f->C_Initialize(NULL);
		CK_RV r3 = f->C_Sign(s, msg, 9, sig, &sl);
		_exit(r1 == CKR_CRYPTOKI_NOT_INITIALIZED && r2 == CKR_GENERAL_ERROR && r3 == CKR_CRYPTOKI_NOT_INITIALIZED ? 0 : 2);
	}
	int status;
	CHECK(waitpid(pid, &status, 0) == pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	printf("FORK-OK\n");
	RV(f->C_GetInfo(&info), CKR_OK); // the parent still works

	RV(f->C_CloseSession(s), CKR_OK);
	RV(f->C_CloseSession(s), 0xB3 /* CKR_SESSION_HANDLE_INVALID */);
	RV(f->C_Finalize(NULL), CKR_OK);
	printf("OK\n");
	return 0;
}
