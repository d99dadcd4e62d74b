package filekeyring

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

// readFD reads the whole file whatever size stat gave (a file that grew
// or shrank since), and stops at the limit.
func TestReadFD(t *testing.T) {
	data := bytes.Repeat([]byte("0123456789"), 1000)
	path := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ size, limit, want int }{
		{len(data), len(data) + 1, len(data)}, // as stat said
		{0, len(data) + 1, len(data)},         // grew from empty
		{100, len(data) + 1, len(data)},       // grew
		{len(data) * 2, len(data) + 1, len(data)},
		{len(data), 501, 501}, // the limit, one more than allowed
		{10, 501, 501},
	} {
		fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			t.Fatal(err)
		}
		got, err := readFD(fd, tt.size, tt.limit)
		unix.Close(fd)
		if err != nil || !bytes.Equal(got, data[:tt.want]) {
			t.Errorf("readFD(size %d, limit %d) = %d bytes, %v; want the first %d", tt.size, tt.limit, len(got), err, tt.want)
		}
	}
}
