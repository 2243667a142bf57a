package web

import (
	"context"
	"time"

	"anticovid/internal/camera"
	"anticovid/internal/campaign"
	"anticovid/internal/dashboard"
	"anticovid/internal/reports"
)

// Ops are the operations centre's services: the live dashboard and public
// map, weekly reports, quarantine cameras and campaigns. When nil, none of
// their routes exist.
type Ops struct {
	Dashboard *dashboard.Service
	Reports   *reports.Service
	Cameras   *camera.Service
	Campaigns *campaign.Service
	// MapTiles is an optional tile server URL template for the public map
	// ({z}/{x}/{y}); empty: the schematic map, which needs no internet.
	MapTiles       string
	MapAttribution string
}

// RunOps runs the operations centre's background work until ctx ends: the
// dashboard refresher, the camera probe, report reminders and campaign
// sending.
func RunOps(ctx context.Context, o *Ops) {
	if o == nil {
		return
	}
	go o.Dashboard.Run(ctx, 5*time.Second)
	go o.Cameras.Run(ctx, 30*time.Second)
	go o.Reports.Run(ctx, 15*time.Minute)
	go o.Campaigns.Run(ctx, 10*time.Second)
}
