package config

import (
	"fmt"
	"os"
	"strings"
)

// Secrets lists the settings that are secrets. Each comes from the
// environment only, never a flag (a flag shows in the process list), and
// each can instead come from a file named by ANTICOVID_<NAME>_FILE: a
// container's or systemd's credentials, which stay out of the environment
// too (`docker inspect`, /proc/PID/environ).
var Secrets = []string{
	"DATA_KEY", "DATA_KEY_OLD", "METRICS_TOKEN", "MEETING_SECRET", "SMTP_URL",
	"SMS_AUTH", "SMS_CALLBACK_SECRET", "OTT_AUTH", "OTT_CALLBACK_SECRET",
	"BACKUP_S3_ACCESS_KEY", "BACKUP_S3_SECRET_KEY",
}

// secret reads the secret ANTICOVID_<name>, or the file ANTICOVID_<name>_FILE
// names, with surrounding white space trimmed (editors end files with a
// newline). Setting both is an error Validate reports, as is a file that
// cannot be read; neither message shows the value.
func (c *Config) secret(name string) string {
	v, hasValue := lookup(name)
	path, hasFile := lookup(name + "_FILE")
	switch {
	case hasValue && hasFile:
		c.envErrs = append(c.envErrs, fmt.Errorf("ANTICOVID_%s and ANTICOVID_%s_FILE are both set: choose one", name, name))
		return ""
	case hasFile:
		b, err := os.ReadFile(path)
		if err != nil {
			c.envErrs = append(c.envErrs, fmt.Errorf("ANTICOVID_%s_FILE: %w", name, err))
			return ""
		}
		return strings.TrimSpace(string(b))
	}
	return v
}
