/*! \file    sfu-doctor.h
 * \brief    sfu-token doctor: what in a Janus + janus.plugin.sfu configuration is risky or missing for production
 * \details  Reads janus.jcfg and the HTTP/WebSocket transport configs of a Janus configs folder with libconfig,
 * the plugin's config through sfu_config_load() (the plugin's own loader), and prints one line per finding.
 * Every finding is documented in docs/DEPLOYMENT.md ("The config check").
 */
#ifndef SFU_DOCTOR_H
#define SFU_DOCTOR_H

/*! \brief Runs `sfu-token doctor` (argv[0] is the command name). Exit status: 0 nothing risky, 1 at least one
 * risky finding, 2 usage error or an unreadable janus.jcfg. */
int sfu_doctor_main(int argc, char **argv);

#endif
