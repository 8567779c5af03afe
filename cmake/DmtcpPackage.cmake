# The Debian package: `cpack -G DEB` in the build tree makes
# dmtcp-cpp_<version>-1_<arch>.deb from the same install rules as
# `cmake --install` (docs/packaging.md).  Everything lands under /usr:
# tools in bin/, runtime and plugins in lib/dmtcp/ (found from the tools'
# own place), headers in include/, man pages, bash completion and docs in
# share/.  Depends comes from dpkg-shlibdeps (dpkg-dev) on the binaries.
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME dmtcp-cpp)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "dmtcp-cpp developers <dmtcp-cpp@localhost>"
    CACHE STRING "Maintainer field of the .deb")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "transparent checkpoint/restart of Linux programs (DMTCP-compatible)")
# The summary above is the first line of the control file's Description.
set(CPACK_PACKAGE_DESCRIPTION
    "Runs an unmodified program under dmtcp_launch; dmtcp_command --checkpoint
writes one image per process and lets the program go on; after a crash or
reboot dmtcp_restart brings it back where it was.  No root, no kernel
module.  Command lines, environment variables and the plugin API are
DMTCP's; dmtcp_inspect looks inside images.  Includes the headers, a
pkg-config file and a CMake package for writing plugins.")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_RELEASE 1)
set(CPACK_DEBIAN_PACKAGE_SECTION utils)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# Our libraries are private (lib/dmtcp, preloaded by path): no shlibs.
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS OFF)
# Debug information is not shipped (as dh_strip moves it out of a .deb).
set(CPACK_STRIP_FILES ON)
# Directories 0755 and files as installed, whatever the builder's umask.
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
set(CPACK_INSTALL_DEFAULT_DIRECTORY_PERMISSIONS
    OWNER_READ OWNER_WRITE OWNER_EXECUTE
    GROUP_READ GROUP_EXECUTE WORLD_READ WORLD_EXECUTE)
include(CPack)
