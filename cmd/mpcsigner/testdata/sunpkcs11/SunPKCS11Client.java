import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.KeyStore;
import java.security.Provider;
import java.security.Security;
import java.security.Signature;
import java.security.spec.ECGenParameterSpec;
import java.util.Collections;
import java.util.HexFormat;

/**
 * Uses the mpcsigner PKCS#11 module the way a Java application does, through the JDK's
 * SunPKCS11 provider and nothing else, and prints what it got, one "TAG value" line each, for
 * cmd/mpcsigner/pkcs11_java_test.go to check:
 *
 * <pre>
 *   java SunPKCS11Client.java CONFIG PIN MESSAGE_HEX CURVE
 * </pre>
 *
 * It loads the provider with CONFIG, logs in by loading KeyStore "PKCS11" with PIN, lists its
 * aliases, generates an EC key pair on CURVE (a threshold key generation on the cluster), signs
 * MESSAGE with SHA256withECDSA and prints the public key (X.509 SubjectPublicKeyInfo, hex) and
 * the signature (DER, hex). A failure prints "REFUSED" with the exception and exits 3.
 */
public final class SunPKCS11Client {
    public static void main(String[] args) throws Exception {
        if (args.length != 4) {
            System.err.println("usage: SunPKCS11Client CONFIG PIN MESSAGE_HEX CURVE");
            System.exit(2);
        }
        HexFormat hex = HexFormat.of();
        Provider p = Security.getProvider("SunPKCS11").configure(args[0]);
        System.out.println("PROVIDER " + p.getName());

        KeyStore ks = KeyStore.getInstance("PKCS11", p);
        ks.load(null, args[1].toCharArray());
        System.out.println("ALIASES " + Collections.list(ks.aliases()).size() + " " + Collections.list(ks.aliases()));

        try {
            KeyPairGenerator kpg = KeyPairGenerator.getInstance("EC", p);
            kpg.initialize(new ECGenParameterSpec(args[3]));
            KeyPair kp = kpg.generateKeyPair();
            Signature sig = Signature.getInstance("SHA256withECDSA", p);
            sig.initSign(kp.getPrivate());
            sig.update(hex.parseHex(args[2]));
            byte[] der = sig.sign();
            System.out.println("SIGNED-BY " + sig.getProvider().getName());
            System.out.println("PUBLIC " + hex.formatHex(kp.getPublic().getEncoded()));
            System.out.println("SIGNATURE " + hex.formatHex(der));
        } catch (Exception e) {
            System.out.println("REFUSED " + e.toString().replace('\n', ' '));
            System.exit(3);
        }
    }
}
