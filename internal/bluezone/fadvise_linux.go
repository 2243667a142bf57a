package bluezone

import (
	"os"

	"golang.org/x/sys/unix"
)

// adviseRandom tells the kernel that an index file is read at random: a
// lookup reads one bucket (a few hundred bytes), and the default readahead
// would fetch tens of kilobytes around it on every page-cache miss.
func adviseRandom(f *os.File) {
	unix.Fadvise(int(f.Fd()), 0, 0, unix.FADV_RANDOM)
}
