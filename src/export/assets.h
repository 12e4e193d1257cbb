/* SPDX-License-Identifier: MIT */
/*
 * Text files embedded at build time (cmake/embed.cmake, from src/export/assets/): the
 * scripts, styles and page template the SVG flame graph and the HTML report carry, so that
 * their output is one self-contained file. NUL-terminated, read-only.
 */
#ifndef HS_ASSETS_H
#define HS_ASSETS_H

extern const char hs_asset_flamegraph_js[];	/* the SVG flame graph's script */
extern const char hs_asset_report_js[];		/* the HTML page's script */
extern const char hs_asset_report_css[];	/* the HTML page's style */
extern const char hs_asset_report_html[];	/* the HTML page, with @@...@@ slots */

#endif
