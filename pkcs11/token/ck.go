package token

// PKCS#11 constants used by the module (values from the OASIS PKCS#11 2.40 / 3.0 headers).
// CK_ULONG is C unsigned long, which is Go's uint on the LP64 Unix platforms supported.

// Return values.
const (
	CKR_OK                             uint = 0x000
	CKR_HOST_MEMORY                    uint = 0x002
	CKR_SLOT_ID_INVALID                uint = 0x003
	CKR_GENERAL_ERROR                  uint = 0x005
	CKR_FUNCTION_FAILED                uint = 0x006
	CKR_ARGUMENTS_BAD                  uint = 0x007
	CKR_NEED_TO_CREATE_THREADS         uint = 0x009
	CKR_CANT_LOCK                      uint = 0x00A
	CKR_ATTRIBUTE_READ_ONLY            uint = 0x010
	CKR_ATTRIBUTE_SENSITIVE            uint = 0x011
	CKR_ATTRIBUTE_TYPE_INVALID         uint = 0x012
	CKR_ATTRIBUTE_VALUE_INVALID        uint = 0x013
	CKR_ACTION_PROHIBITED              uint = 0x01B
	CKR_DATA_INVALID                   uint = 0x020
	CKR_DATA_LEN_RANGE                 uint = 0x021
	CKR_DEVICE_ERROR                   uint = 0x030
	CKR_FUNCTION_CANCELED              uint = 0x050
	CKR_FUNCTION_NOT_SUPPORTED         uint = 0x054
	CKR_KEY_HANDLE_INVALID             uint = 0x060
	CKR_KEY_TYPE_INCONSISTENT          uint = 0x063
	CKR_KEY_FUNCTION_NOT_PERMITTED     uint = 0x068
	CKR_MECHANISM_INVALID              uint = 0x070
	CKR_MECHANISM_PARAM_INVALID        uint = 0x071
	CKR_OBJECT_HANDLE_INVALID          uint = 0x082
	CKR_OPERATION_ACTIVE               uint = 0x090
	CKR_OPERATION_NOT_INITIALIZED      uint = 0x091
	CKR_PIN_INCORRECT                  uint = 0x0A0
	CKR_PIN_LEN_RANGE                  uint = 0x0A2
	CKR_SESSION_HANDLE_INVALID         uint = 0x0B3
	CKR_SESSION_PARALLEL_NOT_SUPPORTED uint = 0x0B4
	CKR_SESSION_READ_ONLY              uint = 0x0B5
	CKR_SIGNATURE_INVALID              uint = 0x0C0
	CKR_SIGNATURE_LEN_RANGE            uint = 0x0C1
	CKR_TEMPLATE_INCOMPLETE            uint = 0x0D0
	CKR_TEMPLATE_INCONSISTENT          uint = 0x0D1
	CKR_TOKEN_WRITE_PROTECTED          uint = 0x0E2
	CKR_USER_ALREADY_LOGGED_IN         uint = 0x100
	CKR_USER_NOT_LOGGED_IN             uint = 0x101
	CKR_USER_TYPE_INVALID              uint = 0x103
	CKR_RANDOM_SEED_NOT_SUPPORTED      uint = 0x120
	CKR_CURVE_NOT_SUPPORTED            uint = 0x140
	CKR_BUFFER_TOO_SMALL               uint = 0x150
	CKR_CRYPTOKI_NOT_INITIALIZED       uint = 0x190
	CKR_CRYPTOKI_ALREADY_INITIALIZED   uint = 0x191
	CKR_FUNCTION_REJECTED              uint = 0x200
)

// Object classes and key types.
const (
	CKO_DATA        uint = 0
	CKO_CERTIFICATE uint = 1
	CKO_PUBLIC_KEY  uint = 2
	CKO_PRIVATE_KEY uint = 3
	CKO_SECRET_KEY  uint = 4

	CKK_EC         uint = 3
	CKK_EC_EDWARDS uint = 0x40
)

// Attribute types.
const (
	CKA_CLASS               uint = 0x000
	CKA_TOKEN               uint = 0x001
	CKA_PRIVATE             uint = 0x002
	CKA_LABEL               uint = 0x003
	CKA_VALUE               uint = 0x011
	CKA_TRUSTED             uint = 0x086
	CKA_KEY_TYPE            uint = 0x100
	CKA_SUBJECT             uint = 0x101
	CKA_ID                  uint = 0x102
	CKA_SENSITIVE           uint = 0x103
	CKA_ENCRYPT             uint = 0x104
	CKA_DECRYPT             uint = 0x105
	CKA_WRAP                uint = 0x106
	CKA_UNWRAP              uint = 0x107
	CKA_SIGN                uint = 0x108
	CKA_SIGN_RECOVER        uint = 0x109
	CKA_VERIFY              uint = 0x10A
	CKA_VERIFY_RECOVER      uint = 0x10B
	CKA_DERIVE              uint = 0x10C
	CKA_START_DATE          uint = 0x110
	CKA_END_DATE            uint = 0x111
	CKA_EXTRACTABLE         uint = 0x162
	CKA_LOCAL               uint = 0x163
	CKA_NEVER_EXTRACTABLE   uint = 0x164
	CKA_ALWAYS_SENSITIVE    uint = 0x165
	CKA_KEY_GEN_MECHANISM   uint = 0x166
	CKA_MODIFIABLE          uint = 0x170
	CKA_COPYABLE            uint = 0x171
	CKA_DESTROYABLE         uint = 0x172
	CKA_EC_PARAMS           uint = 0x180
	CKA_EC_POINT            uint = 0x181
	CKA_ALWAYS_AUTHENTICATE uint = 0x202
	CKA_WRAP_WITH_TRUSTED   uint = 0x210
	CKA_ALLOWED_MECHANISMS  uint = 0x40000600
)

// Mechanisms.
const (
	CKM_EC_KEY_PAIR_GEN         uint = 0x1040
	CKM_ECDSA                   uint = 0x1041
	CKM_ECDSA_SHA256            uint = 0x1044
	CKM_EC_EDWARDS_KEY_PAIR_GEN uint = 0x1055
	CKM_EDDSA                   uint = 0x1057
)

// Flags.
const (
	CKF_TOKEN_PRESENT = 0x1
	CKF_HW_SLOT       = 0x4

	CKF_RNG                  = 0x1
	CKF_LOGIN_REQUIRED       = 0x4
	CKF_USER_PIN_INITIALIZED = 0x8
	CKF_TOKEN_INITIALIZED    = 0x400

	CKF_RW_SESSION     = 0x2
	CKF_SERIAL_SESSION = 0x4

	CKF_HW                = 0x1
	CKF_SIGN              = 0x800
	CKF_VERIFY            = 0x2000
	CKF_GENERATE_KEY_PAIR = 0x10000
	CKF_EC_F_P            = 0x100000
	CKF_EC_OID            = 0x800000
	CKF_EC_UNCOMPRESS     = 0x1000000
	CKF_EC_COMPRESS       = 0x2000000

	CKF_LIBRARY_CANT_CREATE_OS_THREADS = 0x1
	CKF_OS_LOCKING_OK                  = 0x2
)

// Session states and user types.
const (
	CKS_RO_PUBLIC_SESSION uint = 0
	CKS_RO_USER_FUNCTIONS uint = 1
	CKS_RW_PUBLIC_SESSION uint = 2
	CKS_RW_USER_FUNCTIONS uint = 3

	CKU_SO   uint = 0
	CKU_USER uint = 1
)

// CK_UNAVAILABLE_INFORMATION is the ulValueLen of an attribute that cannot be returned.
const CK_UNAVAILABLE_INFORMATION = ^uint(0)
