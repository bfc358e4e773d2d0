// Package pemfile reads the PEM certificates and private keys of `sys file
// ssl-cert` and `sys file ssl-key` objects: it parses a certificate chain,
// a private key (decrypting traditional "Proc-Type: 4,ENCRYPTED" PEM with
// a passphrase), checks that a key matches its certificate, and names key
// material by its fingerprint (`<hidden sha256:HEX>`) wherever it would
// otherwise be printed. Its errors never quote key material. Besides
// functions over byte slices it makes self-signed pairs and keeps the REST
// server's own in its state directory (LoadOrCreate). It starts no
// goroutine.
package pemfile
