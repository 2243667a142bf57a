package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"time"

	"anticovid/internal/reports"
)

func init() {
	register("reports deadline", "print a week's report deadline in RFC 3339 (--week 2021-W30; default this week)", reportsDeadline)
}

// reportsDeadline prints one line: Friday 13:00 Asia/Ho_Chi_Minh of the week.
func reportsDeadline(_ context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("anticovid reports deadline", flag.ContinueOnError)
	week := fs.String("week", "", "ISO week, YYYY-Www (e.g. 2021-W30); default: the week being reported now")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	w := reports.Current(time.Now())
	if *week != "" {
		var err error
		if w, err = reports.ParseWeek(*week); err != nil {
			return err
		}
	}
	fmt.Fprintln(stdout, w.Deadline().Format(time.RFC3339))
	return nil
}
