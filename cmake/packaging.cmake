# The Debian package (scripts/package): `cpack -G DEB` over the install rules below. The install
# step depends only on the two programs and the compressed pages, not on every target (tests),
# so packaging reuses the build tree and stays quick.
set(CMAKE_SKIP_INSTALL_ALL_DEPENDENCY ON)

set(LOYALTY_DEB_DIR ${PROJECT_SOURCE_DIR}/deploy/debian)
set(LOYALTY_GZ_DIR ${PROJECT_BINARY_DIR}/package-files)

# Debian wants manual pages and the changelog compressed with gzip -9n (no name, no time).
file(GLOB LOYALTY_MAN_PAGES CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/man/*.[1-8])
set(LOYALTY_GZ_FILES)
foreach(page ${LOYALTY_MAN_PAGES} ${LOYALTY_DEB_DIR}/changelog)
  get_filename_component(name ${page} NAME)
  if(name STREQUAL "changelog")
    set(name changelog.Debian)
  endif()
  add_custom_command(OUTPUT ${LOYALTY_GZ_DIR}/${name}.gz
                     COMMAND ${CMAKE_COMMAND} -E make_directory ${LOYALTY_GZ_DIR}
                     COMMAND sh -c "gzip -9n < '${page}' > '${LOYALTY_GZ_DIR}/${name}.gz'"
                     DEPENDS ${page} VERBATIM)
  list(APPEND LOYALTY_GZ_FILES ${LOYALTY_GZ_DIR}/${name}.gz)
endforeach()
add_custom_target(package_files ALL DEPENDS ${LOYALTY_GZ_FILES})

install(TARGETS loyaltyctl loyaltyd RUNTIME DESTINATION bin)
foreach(page ${LOYALTY_MAN_PAGES})
  get_filename_component(name ${page} NAME)
  string(REGEX REPLACE ".*\\.([1-8])$" "\\1" section ${name})
  install(FILES ${LOYALTY_GZ_DIR}/${name}.gz DESTINATION share/man/man${section})
endforeach()
install(FILES ${LOYALTY_GZ_DIR}/changelog.Debian.gz ${LOYALTY_DEB_DIR}/copyright
        DESTINATION share/doc/loyalty)
install(DIRECTORY ${PROJECT_SOURCE_DIR}/deploy/caddy ${PROJECT_SOURCE_DIR}/deploy/systemd
        DESTINATION share/doc/loyalty/examples)
file(GLOB LOYALTY_UNITS CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/deploy/systemd/*.service
     ${PROJECT_SOURCE_DIR}/deploy/systemd/*.timer)
install(FILES ${LOYALTY_UNITS} DESTINATION /lib/systemd/system)
install(FILES ${PROJECT_SOURCE_DIR}/deploy/etc/loyalty.conf DESTINATION /etc/loyalty)

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME loyalty)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_PACKAGE_CONTACT "Loyalty platform operators <ops@example.invalid>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "multi-tenant loyalty platform: REST daemon and operator CLI")
# The extended description, under 80 columns a line (CPack puts the summary above it).
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION
    "loyaltyd serves the platform's REST API, the USSD callback and outbound
webhooks, and runs the background worker; loyaltyctl onboards tenants, imports
rules, uploads voucher codes, tops up budgets, exports and verifies the ledger,
runs expiries and takes encrypted backups. PostgreSQL is the system of record.
Includes systemd units and timers and an example configuration.")
# A Debian revision, so the package is not "native" (and its changelog is changelog.Debian).
set(CPACK_DEBIAN_PACKAGE_RELEASE 1)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION misc)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# pg_dump/pg_restore and age for backups, adduser for postinst; the embedded cluster needs the
# server binaries (initdb, pg_ctl).
set(CPACK_DEBIAN_PACKAGE_DEPENDS "adduser, age, postgresql-client-15")
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "postgresql-15, caddy")
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_COMPRESSION_TYPE gzip)
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA ${LOYALTY_DEB_DIR}/postinst ${LOYALTY_DEB_DIR}/prerm
                                       ${LOYALTY_DEB_DIR}/postrm ${LOYALTY_DEB_DIR}/conffiles)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
set(CPACK_OUTPUT_FILE_PREFIX ${PROJECT_BINARY_DIR}/package)
include(CPack)
