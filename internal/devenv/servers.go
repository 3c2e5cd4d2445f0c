package devenv

import (
	"fmt"
	"os"
	"syscall"
)

// For `vaxbook chaos`, which starts, kills and restarts servers of its own
// on fixed ports and so cannot use the throwaway servers above.

// PostgresBinaries returns the directory holding initdb and postgres.
func PostgresBinaries() (string, error) { return findPostgresBinaries() }

// RedisServer returns the redis-server binary.
func RedisServer() (string, error) { return findRedisServer() }

// ChildAttr starts a process in its own process group, stopped with us.
func ChildAttr() *syscall.SysProcAttr { return sysProcAttr(nil) }

// PostgresAttr starts a PostgreSQL process (initdb, postgres) the way
// ChildAttr does, as user postgres when we are root, which PostgreSQL
// refuses to run as; dir, its home, is handed to that user.
func PostgresAttr(dir string) (*syscall.SysProcAttr, error) {
	as, err := serverAccount()
	if err != nil {
		return nil, err
	}
	if as != nil {
		if err := os.Chown(dir, as.uid, as.gid); err != nil {
			return nil, fmt.Errorf("hand %s to user %s: %w", dir, as.name, err)
		}
	}
	return sysProcAttr(as), nil
}

// FreePort asks the kernel for an unused loopback port.
func FreePort() (int, error) { return freePort() }
