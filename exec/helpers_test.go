package exec

import (
	"bytes"
	"fmt"
)

// testPEM is a multi-line value, as a file secret holds.
const testPEM = "-----BEGIN OPENSSH PRIVATE KEY-----\n" +
	"b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\n" +
	"QyNTUxOQAAACDgS1QmTgxl1Fa0G3eF1rD5Hq1qOuTnGG5GQoLZ6cJbawAAAJhL1fS0S9X0\n" +
	"tAAAAAtzc2gtZWQyNTUxOQAAACDgS1QmTgxl1Fa0G3eF1rD5Hq1qOuTnGG5GQoLZ6cJbaw\n" +
	"-----END OPENSSH PRIVATE KEY-----\n"

// show quotes b for a failure message with every value, and every line of
// a multi-line value, replaced by its index: tests print names, not values.
func show(b []byte, values ...[]byte) string {
	for i, v := range values {
		tag := []byte(fmt.Sprintf("<value#%d>", i))
		if len(v) > 0 {
			b = bytes.ReplaceAll(b, v, tag)
		}
		for _, l := range bytes.Split(v, []byte("\n")) {
			if l = bytes.TrimSpace(l); len(l) >= 4 {
				b = bytes.ReplaceAll(b, l, tag)
			}
		}
	}
	return fmt.Sprintf("%q", b)
}
