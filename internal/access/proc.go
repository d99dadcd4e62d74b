package access

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// ProcIdentity reads who process pid is now from /proc/PID/status: its
// effective uid, which must still be uid (the socket's), and its groups
// (effective gid and supplementary groups). A process that is gone, or
// whose pid now belongs to another user, fails.
func ProcIdentity(pid, uid int) (Identity, error) {
	if pid <= 0 {
		return Identity{}, fmt.Errorf("no pid to read groups from")
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return Identity{}, fmt.Errorf("read the groups of pid %d: %w", pid, err)
	}
	return parseStatus(b, uid)
}

// parseStatus reads the Uid, Gid and Groups lines of a /proc/PID/status.
func parseStatus(b []byte, uid int) (Identity, error) {
	var id Identity
	var haveUID, haveGID, haveGroups bool
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		key, val, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		fields := strings.Fields(val)
		switch key {
		case "Uid":
			if len(fields) < 2 {
				return Identity{}, errors.New("bad Uid line in /proc status")
			}
			euid, err := strconv.Atoi(fields[1])
			if err != nil {
				return Identity{}, errors.New("bad Uid line in /proc status")
			}
			id.UID, haveUID = euid, true
		case "Gid":
			if len(fields) < 2 {
				return Identity{}, errors.New("bad Gid line in /proc status")
			}
			egid, err := strconv.Atoi(fields[1])
			if err != nil {
				return Identity{}, errors.New("bad Gid line in /proc status")
			}
			id.GIDs, haveGID = append([]int{egid}, id.GIDs...), true
		case "Groups":
			for _, f := range fields {
				g, err := strconv.Atoi(f)
				if err != nil {
					return Identity{}, errors.New("bad Groups line in /proc status")
				}
				id.GIDs = append(id.GIDs, g)
			}
			haveGroups = true
		}
	}
	if !haveUID || !haveGID || !haveGroups {
		return Identity{}, errors.New("/proc status lacks Uid, Gid or Groups")
	}
	if id.UID != uid {
		return Identity{}, fmt.Errorf("the process is now uid %d, not %d", id.UID, uid)
	}
	return id, nil
}
