package personas

import "fmt"

// npiPrefix is the card issuer prefix the Luhn check of an NPI is computed over
// (CMS, "NPI check digit": 80840 is the health industry prefix of ISO 7812).
const npiPrefix = "80840"

// npiCheckDigit returns the Luhn check digit of the first nine digits of an NPI.
func npiCheckDigit(first9 string) byte {
	payload := npiPrefix + first9
	sum := 0
	// Double every second digit counting from the right of the payload, starting
	// with its last digit: the check digit will sit to its right.
	for i := len(payload) - 1; i >= 0; i-- {
		d := int(payload[i] - '0')
		if (len(payload)-1-i)%2 == 0 {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
	}
	return byte('0' + (10-sum%10)%10)
}

// checkNPI returns what is wrong with a National Provider Identifier, or "": ten
// digits whose last is the Luhn check digit of the first nine.
func checkNPI(npi string) string {
	if len(npi) != 10 {
		return fmt.Sprintf("%q is not 10 digits", npi)
	}
	for i := range len(npi) {
		if npi[i] < '0' || npi[i] > '9' {
			return fmt.Sprintf("%q is not 10 digits", npi)
		}
	}
	if want := npiCheckDigit(npi[:9]); npi[9] != want {
		return fmt.Sprintf("%q has check digit %c; want %c", npi, npi[9], want)
	}
	return ""
}
