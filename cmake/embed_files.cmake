# Writes a C++ file holding every file of DIR matching GLOB as a raw string, sorted by name:
#   const std::vector<ELEMENT>& NAMESPACE::FUNCTION()  (ELEMENT is built from {name, content}),
# declared in HEADER. Used for the migrations, the OpenAPI fragments and the message catalogues;
# run with cmake -P.
file(GLOB files ${DIR}/${GLOB})
list(SORT files)
set(body "// Generated from ${DIR} at build time. Do not edit.\n#include \"${HEADER}\"\nnamespace ${NAMESPACE} {\nconst std::vector<${ELEMENT}>& ${FUNCTION}() {\n  static const std::vector<${ELEMENT}> kAll = {\n")
foreach(f ${files})
  get_filename_component(name ${f} NAME)
  file(READ ${f} content)
  set(body "${body}    {\"${name}\", R\"__embedded__(${content})__embedded__\"},\n")
endforeach()
set(body "${body}  };\n  return kAll;\n}\n}  // namespace ${NAMESPACE}\n")
file(WRITE ${OUTPUT}.tmp "${body}")
file(COPY_FILE ${OUTPUT}.tmp ${OUTPUT} ONLY_IF_DIFFERENT)
