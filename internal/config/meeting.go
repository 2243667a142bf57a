package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
)

// meetingErrs checks the online meetings' settings: an https Jitsi URL (http
// only on loopback, for a server on this machine), with its app id and a
// secret of at least 32 bytes, which signs both the join tokens and the
// attendance reports.
func (c *Config) meetingErrs() []error {
	if c.MeetingURL == "" {
		if c.MeetingAppID != "" || c.MeetingSecret != "" {
			return []error{errors.New("--meeting-app-id and ANTICOVID_MEETING_SECRET need --meeting-url")}
		}
		return nil
	}
	var out []error
	u, err := url.Parse(c.MeetingURL)
	loopback := false
	if err == nil {
		ip := net.ParseIP(u.Hostname())
		loopback = u.Hostname() == "localhost" || (ip != nil && ip.IsLoopback())
	}
	if err != nil || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil ||
		!(u.Scheme == "https" || (u.Scheme == "http" && loopback)) {
		out = append(out, fmt.Errorf("--meeting-url %q: want https://host[/path] of the Jitsi Meet server (http only on loopback)", c.MeetingURL))
	}
	if c.MeetingAppID == "" {
		out = append(out, errors.New("--meeting-url needs --meeting-app-id (prosody's app_id)"))
	}
	if len(c.MeetingSecret) < 32 {
		out = append(out, errors.New("--meeting-url needs ANTICOVID_MEETING_SECRET (prosody's app_secret), at least 32 characters"))
	}
	return out
}
