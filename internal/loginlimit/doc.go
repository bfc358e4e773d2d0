// Package loginlimit owns the failed-login rate limit every login front
// end shares (the SSH server, the REST API): per client address, a few
// failures cost nothing, then each blocks the address for a pause that
// doubles up to a ceiling; a success clears it. Time comes from an
// injected clock. It starts no goroutines.
package loginlimit
